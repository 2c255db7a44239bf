//! The coordinate reference systems agrimap offers its clients, named as
//! OGC API – Features Part 2 names them, and transformations between them
//! and WGS 84, in which every layer is stored.
//!
//! Offered: WGS 84 as CRS84 (longitude, latitude: the default) and as
//! EPSG:4326 (latitude, longitude: OGC reads EPSG axis order literally), and
//! the national VN-2000 system's projected CRSs: UTM zones 48N and 49N
//! (EPSG:3405, 3406), the TM-3 zones of EPSG:5896–5899, and the provincial
//! TM-3 zones EPSG:9205–9218. Projected coordinates are easting, northing in
//! metres, the axis order EPSG gives them.
//!
//! ```
//! use agrimap_io::crs::Crs;
//!
//! let utm = Crs::parse("http://www.opengis.net/def/crs/EPSG/0/3405").unwrap();
//! assert_eq!(utm.epsg_code(), Some(3405));
//! assert_eq!(Crs::parse("[OGC:CRS84]").unwrap(), Crs::CRS84);
//! assert!(Crs::parse("EPSG:3857").is_err());
//! ```

mod transform;

pub use transform::{Transform, TransformError};

use std::fmt;

/// The URI of WGS 84 longitude/latitude, the default of OGC API – Features.
pub const CRS84_URI: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
/// What an EPSG code is appended to to make the OGC URI of its CRS.
pub const EPSG_URI_PREFIX: &str = "http://www.opengis.net/def/crs/EPSG/0/";

/// How a VN-2000 CRS projects the VN-2000 ellipsoid (which is WGS 84's) onto the plane.
#[derive(Debug, Clone, Copy)]
enum Projection {
    /// Universal Transverse Mercator, northern zone N.
    Utm(u8),
    /// Vietnam's 3° transverse Mercator zones: this central meridian (degrees
    /// east), scale 0.9999, false easting 500 km.
    Tm3(f64),
}

/// One VN-2000 projected CRS, as `projinfo EPSG:N` defines it.
#[derive(Debug)]
struct Vn2000 {
    code: u32,
    name: &'static str,
    projection: Projection,
}

/// The VN-2000 projected CRSs offered, in the order they are listed.
const VN2000: &[Vn2000] = &[
    Vn2000 {
        code: 3405,
        name: "VN-2000 / UTM zone 48N",
        projection: Projection::Utm(48),
    },
    Vn2000 {
        code: 3406,
        name: "VN-2000 / UTM zone 49N",
        projection: Projection::Utm(49),
    },
    Vn2000 {
        code: 5896,
        name: "VN-2000 / TM-3 zone 481",
        projection: Projection::Tm3(102.0),
    },
    Vn2000 {
        code: 5897,
        name: "VN-2000 / TM-3 zone 482",
        projection: Projection::Tm3(105.0),
    },
    Vn2000 {
        code: 5898,
        name: "VN-2000 / TM-3 zone 491",
        projection: Projection::Tm3(108.0),
    },
    Vn2000 {
        code: 5899,
        name: "VN-2000 / TM-3 107-45",
        projection: Projection::Tm3(107.75),
    },
    Vn2000 {
        code: 9205,
        name: "VN-2000 / TM-3 103-00",
        projection: Projection::Tm3(103.0),
    },
    Vn2000 {
        code: 9206,
        name: "VN-2000 / TM-3 104-00",
        projection: Projection::Tm3(104.0),
    },
    Vn2000 {
        code: 9207,
        name: "VN-2000 / TM-3 104-30",
        projection: Projection::Tm3(104.5),
    },
    Vn2000 {
        code: 9208,
        name: "VN-2000 / TM-3 104-45",
        projection: Projection::Tm3(104.75),
    },
    Vn2000 {
        code: 9209,
        name: "VN-2000 / TM-3 105-30",
        projection: Projection::Tm3(105.5),
    },
    Vn2000 {
        code: 9210,
        name: "VN-2000 / TM-3 105-45",
        projection: Projection::Tm3(105.75),
    },
    Vn2000 {
        code: 9211,
        name: "VN-2000 / TM-3 106-00",
        projection: Projection::Tm3(106.0),
    },
    Vn2000 {
        code: 9212,
        name: "VN-2000 / TM-3 106-15",
        projection: Projection::Tm3(106.25),
    },
    Vn2000 {
        code: 9213,
        name: "VN-2000 / TM-3 106-30",
        projection: Projection::Tm3(106.5),
    },
    Vn2000 {
        code: 9214,
        name: "VN-2000 / TM-3 107-00",
        projection: Projection::Tm3(107.0),
    },
    Vn2000 {
        code: 9215,
        name: "VN-2000 / TM-3 107-15",
        projection: Projection::Tm3(107.25),
    },
    Vn2000 {
        code: 9216,
        name: "VN-2000 / TM-3 107-30",
        projection: Projection::Tm3(107.5),
    },
    Vn2000 {
        code: 9217,
        name: "VN-2000 / TM-3 108-15",
        projection: Projection::Tm3(108.25),
    },
    Vn2000 {
        code: 9218,
        name: "VN-2000 / TM-3 108-30",
        projection: Projection::Tm3(108.5),
    },
];

/// The official VN-2000 → WGS 84 shift (EPSG:6960, "VN-2000 to WGS 84 (2)"):
/// translations in metres, rotations in arc-seconds in the *coordinate frame*
/// convention EPSG publishes, scale in parts per million.
pub const VN2000_TO_WGS84: [f64; 7] = [
    -191.904_414_29,
    -39.303_182_79,
    -111.450_328_35,
    -0.009_288_36,
    0.019_754_79,
    -0.004_273_72,
    0.252_906_278,
];

impl Vn2000 {
    fn find(code: u32) -> Option<&'static Self> {
        VN2000.iter().find(|z| z.code == code)
    }

    /// The map projection, in PROJ's words.
    fn projection(&self) -> String {
        match self.projection {
            Projection::Utm(zone) => format!("+proj=utm +zone={zone}"),
            Projection::Tm3(lon) => format!("+proj=tmerc +lat_0=0 +lon_0={lon} +k=0.9999 +x_0=500000 +y_0=0"),
        }
    }

    /// The PROJ string of the CRS, as `projinfo EPSG:N -o PROJ` prints it.
    fn proj_string(&self) -> String {
        // `towgs84` reads rotations in the position-vector convention, the
        // opposite sign of the coordinate-frame figures EPSG publishes.
        let [dx, dy, dz, rx, ry, rz, ds] = VN2000_TO_WGS84;
        format!(
            "{} +ellps=WGS84 +towgs84={dx},{dy},{dz},{},{},{},{ds} +units=m +no_defs",
            self.projection(),
            -rx,
            -ry,
            -rz
        )
    }

    /// The PROJ pipeline from EPSG:4326 (latitude first, degrees) to the CRS
    /// through the official shift, as `projinfo` prints the operation.
    fn pipeline_from_epsg4326(&self) -> String {
        let [dx, dy, dz, rx, ry, rz, ds] = VN2000_TO_WGS84;
        format!(
            "+proj=pipeline +step +proj=axisswap +order=2,1 +step +proj=unitconvert +xy_in=deg +xy_out=rad \
             +step +proj=push +v_3 +step +proj=cart +ellps=WGS84 \
             +step +inv +proj=helmert +x={dx} +y={dy} +z={dz} +rx={rx} +ry={ry} +rz={rz} +s={ds} \
             +convention=coordinate_frame +step +inv +proj=cart +ellps=WGS84 +step +proj=pop +v_3 \
             +step {} +ellps=WGS84",
            self.projection()
        )
    }
}

/// A coordinate reference system agrimap offers: CRS84, EPSG:4326 or one of
/// the VN-2000 projected CRSs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Crs {
    /// `None` for CRS84; otherwise an EPSG code among those offered.
    epsg: Option<u32>,
}

/// A CRS that is not offered, or text that names no CRS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrsError {
    #[error("EPSG:{0} is not a coordinate reference system offered here; offered: {list}", list = offered_uris().join(", "))]
    NotOffered(u32),
    #[error("this is not the URI of a coordinate reference system offered here; offered: {list}", list = offered_uris().join(", "))]
    Unrecognised,
}

impl Crs {
    /// WGS 84 longitude, latitude: what the layers are stored in.
    pub const CRS84: Self = Self { epsg: None };
    /// WGS 84 latitude, longitude.
    pub const EPSG_4326: Self = Self { epsg: Some(4326) };

    /// The CRS with this EPSG code, if offered.
    ///
    /// # Errors
    /// [`CrsError::NotOffered`] for any other code.
    pub fn epsg(code: u32) -> Result<Self, CrsError> {
        if code == 4326 || Vn2000::find(code).is_some() {
            Ok(Self { epsg: Some(code) })
        } else {
            Err(CrsError::NotOffered(code))
        }
    }

    /// Reads a CRS as clients name it: the OGC URI
    /// (`http://www.opengis.net/def/crs/EPSG/0/3405`,
    /// `http://www.opengis.net/def/crs/OGC/1.3/CRS84`), a safe CURIE
    /// (`[EPSG:3405]`, `[OGC:CRS84]`), `EPSG:3405`, the OGC URN
    /// (`urn:ogc:def:crs:EPSG::3405`) or a bare EPSG code.
    ///
    /// # Errors
    /// [`CrsError::NotOffered`] for an EPSG code not offered,
    /// [`CrsError::Unrecognised`] for anything else.
    // The name lists sit where they are used.
    #[allow(clippy::items_after_statements)]
    pub fn parse(text: &str) -> Result<Self, CrsError> {
        let text = text.trim();
        let text = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
        let lower = text.to_ascii_lowercase();
        let lower = lower
            .strip_prefix("https://")
            .map_or(lower.clone(), |rest| format!("http://{rest}"));
        const CRS84_NAMES: &[&str] = &[
            "http://www.opengis.net/def/crs/ogc/1.3/crs84",
            "http://www.opengis.net/def/crs/ogc/0/crs84",
            "urn:ogc:def:crs:ogc:1.3:crs84",
            "urn:ogc:def:crs:ogc::crs84",
            "ogc:crs84",
            "crs84",
        ];
        if CRS84_NAMES.contains(&lower.as_str()) {
            return Ok(Self::CRS84);
        }
        // The empty prefix last: a bare code.
        const EPSG_PREFIXES: &[&str] = &[
            "http://www.opengis.net/def/crs/epsg/0/",
            "urn:ogc:def:crs:epsg::",
            "epsg:",
            "",
        ];
        let code = EPSG_PREFIXES
            .iter()
            .find_map(|p| lower.strip_prefix(p))
            .filter(|c| !c.is_empty() && c.len() <= 9 && c.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|c| c.parse::<u32>().ok())
            .ok_or(CrsError::Unrecognised)?;
        Self::epsg(code)
    }

    /// Every CRS offered: CRS84 first, then EPSG:4326, then VN-2000.
    pub fn offered() -> impl Iterator<Item = Self> {
        [Self::CRS84, Self::EPSG_4326]
            .into_iter()
            .chain(VN2000.iter().map(|z| Self { epsg: Some(z.code) }))
    }

    /// The EPSG codes offered (4326 and VN-2000), for tools that take codes.
    pub fn epsg_codes() -> impl Iterator<Item = u32> {
        Self::offered().filter_map(Self::epsg_code)
    }

    /// The EPSG code; `None` for CRS84.
    #[must_use]
    pub fn epsg_code(self) -> Option<u32> {
        self.epsg
    }

    /// The OGC URI that names the CRS.
    #[must_use]
    pub fn uri(self) -> String {
        self.epsg
            .map_or_else(|| CRS84_URI.to_owned(), |code| format!("{EPSG_URI_PREFIX}{code}"))
    }

    /// The CRS's name as EPSG gives it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self.epsg {
            None => "WGS 84 (CRS84, longitude, latitude)",
            Some(4326) => "WGS 84 (latitude, longitude)",
            Some(code) => Vn2000::find(code).map_or("", |z| z.name),
        }
    }

    /// Whether positions are WGS 84 degrees (CRS84 or EPSG:4326), whatever the axis order.
    #[must_use]
    pub fn is_wgs84(self) -> bool {
        matches!(self.epsg, None | Some(4326))
    }

    /// The PROJ pipeline from EPSG:4326 (latitude, longitude in degrees) to
    /// a VN-2000 CRS through the official shift; `None` for WGS 84. GDAL
    /// takes it as `ogr2ogr -ct`: left to choose, PROJ applies in the Mekong
    /// delta the shift EPSG:6959 of the delta's survey blocks, 0.8 m away
    /// from the official one this crate transforms with.
    #[must_use]
    pub fn pipeline_from_epsg4326(self) -> Option<String> {
        self.epsg.and_then(Vn2000::find).map(Vn2000::pipeline_from_epsg4326)
    }

    /// The PROJ string of a VN-2000 CRS; `None` for WGS 84.
    fn vn2000_proj_string(self) -> Option<String> {
        self.epsg.and_then(Vn2000::find).map(Vn2000::proj_string)
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri())
    }
}

/// The URIs of every CRS offered.
#[must_use]
pub fn offered_uris() -> Vec<String> {
    Crs::offered().map(Crs::uri).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_a_crs_read_the_same() {
        for text in [
            "http://www.opengis.net/def/crs/EPSG/0/9210",
            "https://www.opengis.net/def/crs/EPSG/0/9210",
            "[EPSG:9210]",
            "EPSG:9210",
            "epsg:9210",
            "urn:ogc:def:crs:EPSG::9210",
            " 9210 ",
        ] {
            assert_eq!(Crs::parse(text), Ok(Crs { epsg: Some(9210) }), "{text}");
        }
        for text in [CRS84_URI, "[OGC:CRS84]", "OGC:CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84"] {
            assert_eq!(Crs::parse(text), Ok(Crs::CRS84), "{text}");
        }
        assert_eq!(Crs::parse("EPSG:4326"), Ok(Crs::EPSG_4326));
        assert_eq!(Crs::parse("EPSG:3857"), Err(CrsError::NotOffered(3857)));
        for bad in [
            "",
            "EPSG:",
            "EPSG:+3405",
            "EPSG:3405x",
            "VN-2000",
            "http://example.com/3405",
            "EPSG:99999999999",
        ] {
            assert!(Crs::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offered_crss_have_uris_names_and_round_trip() {
        let offered: Vec<Crs> = Crs::offered().collect();
        assert_eq!(offered.len(), 2 + VN2000.len());
        for crs in offered {
            assert_eq!(Crs::parse(&crs.uri()), Ok(crs));
            assert!(!crs.name().is_empty());
        }
        let codes: Vec<u32> = Crs::epsg_codes().collect();
        assert_eq!(codes[..3], [4326, 3405, 3406]);
        assert!(codes.contains(&9205) && codes.contains(&9218) && codes.contains(&5899));
        let message = CrsError::NotOffered(3857).to_string();
        assert!(
            message.contains(CRS84_URI) && message.contains("EPSG/0/9218"),
            "{message}"
        );
    }

    #[test]
    fn proj_strings_are_those_proj_prints() {
        // `projinfo EPSG:9210 -o PROJ -q` (PROJ 9.1), without `+type=crs`.
        assert_eq!(
            Crs::parse("EPSG:9210")
                .ok()
                .and_then(Crs::vn2000_proj_string)
                .as_deref(),
            Some(
                "+proj=tmerc +lat_0=0 +lon_0=105.75 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 \
                 +towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278 \
                 +units=m +no_defs"
            )
        );
    }
}

#[cfg(test)]
mod against_proj;
