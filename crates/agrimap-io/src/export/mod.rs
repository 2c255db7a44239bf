//! Writing a selection of a layer to a file: GeoJSON and CSV in pure Rust
//! ([`geojson`], [`csv`]), the other formats through GDAL's `ogr2ogr`
//! ([`gdal`]). The HTTP export and `agrimap export` both write through here.
//!
//! An [`Encoder`] turns chunks of features into bytes (a head, each chunk, a
//! tail), so memory stays flat whatever the size of the layer; [`write_sync`]
//! and [`write_async`] drive one into any `std::io::Write` or
//! `tokio::io::AsyncWrite`, and [`encoded_chunks`] yields the bytes for a
//! streamed HTTP body.

pub mod csv;
pub mod gdal;
pub mod geojson;

use agrimap_model::{Feature, LayerDef, Value};
use agrimap_store::StoreError;
use agrimap_store::resumable::ChunkStream;
use futures::{Stream, StreamExt};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The columns of an export: the layer and the fields chosen (indexes into
/// `layer.fields`; the caller leaves out what its reader may not see), and
/// beside some coded fields a column of what the code means ([`Label`]).
#[derive(Debug, Clone)]
pub struct Columns {
    pub layer: &'static LayerDef,
    pub fields: Vec<usize>,
    pub labels: BTreeMap<usize, Label>,
}

/// A column written beside a coded field, saying what each code means: the
/// label of a value list's code (`crop_type_label`), or the name of the
/// unit a code names (`province_name` beside a commune's `province_code`,
/// so that a file of communes brings its provinces' names back when it is
/// imported again).
#[derive(Debug, Clone)]
pub struct Label {
    /// The column's name.
    pub column: String,
    /// What each code means, by boundary set (`""`: in any set), since
    /// the reform gave some codes to other units (province 82 was Tiền
    /// Giang before 1 July 2025 and is Đồng Tháp since). Keyed set first so
    /// that a lookup of every exported feature borrows, never allocates.
    meanings: HashMap<String, HashMap<String, String>>,
}

impl Label {
    /// `<field>_label`: the label of each code of a value list.
    #[must_use]
    pub fn of_list(field: &str, labels: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            column: format!("{field}_label"),
            meanings: HashMap::from([(String::new(), labels.into_iter().collect())]),
        }
    }

    /// `column`: the name of each unit, by its (code, boundary set).
    #[must_use]
    pub fn of_units(column: &str, names: impl IntoIterator<Item = ((String, String), String)>) -> Self {
        let mut meanings: HashMap<String, HashMap<String, String>> = HashMap::new();
        for ((code, set), name) in names {
            meanings.entry(set).or_default().insert(code, name);
        }
        Self {
            column: column.to_owned(),
            meanings,
        }
    }

    /// What `code` means in boundary set `set` (or in any).
    fn meaning(&self, code: &str, set: &str) -> Option<&String> {
        [set, ""]
            .iter()
            .find_map(|s| self.meanings.get(*s).and_then(|by_code| by_code.get(code)))
    }
}

impl Columns {
    /// The chosen fields, without labels.
    #[must_use]
    pub fn new(layer: &'static LayerDef, fields: Vec<usize>) -> Self {
        Self {
            layer,
            fields,
            labels: BTreeMap::new(),
        }
    }

    /// Every field of the layer.
    #[must_use]
    pub fn all(layer: &'static LayerDef) -> Self {
        Self::new(layer, (0..layer.fields.len()).collect())
    }

    /// The column names in order: each chosen field, and its label's
    /// column after a labelled one.
    pub fn names(&self) -> impl Iterator<Item = String> + '_ {
        self.fields.iter().flat_map(move |&i| {
            let name = self.layer.fields[i].name;
            std::iter::once(name.to_owned()).chain(self.labels.get(&i).map(|l| l.column.clone()))
        })
    }

    /// The values of a feature in the order of [`Columns::names`].
    pub fn values<'a>(&'a self, feature: &'a Feature) -> impl Iterator<Item = Cow<'a, Value>> + 'a {
        const NULL: &Value = &Value::Null;
        let set = self.layer.text_of(feature, "boundary_set").unwrap_or_default();
        self.fields.iter().flat_map(move |&i| {
            let value = feature.properties.get(i).unwrap_or(NULL);
            let label = self.labels.get(&i).map(|label| match value {
                Value::Text(code) => label
                    .meaning(code, set)
                    .map_or(Cow::Borrowed(NULL), |l| Cow::Owned(Value::Text(l.clone()))),
                _ => Cow::Borrowed(NULL),
            });
            std::iter::once(Cow::Borrowed(value)).chain(label)
        })
    }
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("feature {id} could not be transformed to the export's CRS: {reason}")]
    Transform { id: i64, reason: String },
    #[error("this export needs GDAL's ogr2ogr ({0}); GeoJSON and CSV exports work without it")]
    GdalMissing(String),
    #[error("GDAL could not write the export: {0}")]
    Gdal(String),
}

/// A file format written chunk by chunk.
pub trait Encoder: Send + 'static {
    /// What comes before the first feature.
    ///
    /// # Errors
    /// When the format cannot be written.
    fn head(&mut self, out: &mut Vec<u8>) -> Result<(), ExportError>;
    /// A chunk of features, after those already written.
    ///
    /// # Errors
    /// When a feature cannot be written in the format.
    fn chunk(&mut self, features: &[Feature], out: &mut Vec<u8>) -> Result<(), ExportError>;
    /// What comes after the last feature.
    ///
    /// # Errors
    /// When the format cannot be written.
    fn tail(&mut self, out: &mut Vec<u8>) -> Result<(), ExportError>;
}

/// Writes chunks of features (already read) to `out`.
///
/// # Errors
/// When encoding or writing fails.
pub fn write_sync<'a>(
    encoder: &mut dyn Encoder,
    pages: impl IntoIterator<Item = &'a [Feature]>,
    out: &mut impl std::io::Write,
) -> Result<(), ExportError> {
    let mut buf = Vec::new();
    encoder.head(&mut buf)?;
    for page in pages {
        encoder.chunk(page, &mut buf)?;
        out.write_all(&buf)?;
        buf.clear();
    }
    encoder.tail(&mut buf)?;
    out.write_all(&buf)?;
    out.flush()?;
    Ok(())
}

/// Reads the chunks from the store and writes them to `out`.
///
/// # Errors
/// When the store, encoding or writing fails; what was written stays written.
pub async fn write_async<E: Encoder>(
    encoder: E,
    pages: ChunkStream,
    out: &mut (impl AsyncWrite + Unpin),
) -> Result<(), ExportError> {
    let mut chunks = std::pin::pin!(encoded_chunks(encoder, pages));
    while let Some(chunk) = chunks.next().await {
        out.write_all(&chunk?).await?;
    }
    out.flush().await?;
    Ok(())
}

/// The bytes of the file, one piece per chunk of features, as they are read. Encoding
/// (geometry transforms, JSON) is CPU work, so it runs on the blocking pool.
pub fn encoded_chunks<E: Encoder>(
    encoder: E,
    pages: ChunkStream,
) -> impl Stream<Item = Result<Vec<u8>, ExportError>> + Send + 'static {
    enum State<E> {
        Head(E, ChunkStream),
        Pages(E, ChunkStream),
        Done,
    }
    futures::stream::unfold(State::Head(encoder, pages), |state| async move {
        match state {
            State::Head(mut encoder, pages) => {
                let mut out = Vec::new();
                Some(match encoder.head(&mut out) {
                    Ok(()) => (Ok(out), State::Pages(encoder, pages)),
                    Err(e) => (Err(e), State::Done),
                })
            }
            State::Pages(encoder, mut pages) => match pages.next().await {
                Some(Ok(features)) => {
                    let written = tokio::task::spawn_blocking(move || {
                        let mut encoder = encoder;
                        let mut out = Vec::with_capacity(features.len() * 512);
                        let result = encoder.chunk(&features, &mut out).map(|()| out);
                        (encoder, result)
                    })
                    .await;
                    Some(match written {
                        Ok((encoder, Ok(out))) => (Ok(out), State::Pages(encoder, pages)),
                        Ok((_, Err(e))) => (Err(e), State::Done),
                        Err(e) => (Err(ExportError::Io(std::io::Error::other(e))), State::Done),
                    })
                }
                Some(Err(e)) => Some((Err(e.into()), State::Done)),
                None => {
                    let mut encoder = encoder;
                    let mut out = Vec::new();
                    Some((encoder.tail(&mut out).map(|()| out), State::Done))
                }
            },
            State::Done => None,
        }
    })
}
