//! Getting agrimap's layers in and out of the GIS world: coordinate reference
//! systems (VN-2000 and its provincial zones) and importing the files
//! departments keep. Only this crate links GDAL, behind the `gdal` feature.

pub mod crs;
