//! Reading a grid's boundary from GeoJSON and writing it back.
//!
//! Coordinates are WGS-84 longitude, latitude in degrees (GeoJSON order). A boundary is a
//! `Polygon` or a `MultiPolygon`; every ring must have at least four positions and end where
//! it starts. Those checks run on the text as given, before anything closes a ring for us.

use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;

/// Why a geometry text is not a usable boundary.
#[derive(Clone, PartialEq, Debug, thiserror::Error)]
pub enum ShapeError {
    /// Not JSON, or not a GeoJSON geometry object.
    #[error("not a GeoJSON geometry")]
    NotGeometry,
    /// A geometry, but not a polygon or multipolygon.
    #[error("geometry type {0} is not Polygon or MultiPolygon")]
    NotPolygon(String),
    /// A position that is not two finite numbers, or lies outside longitude/latitude range.
    #[error("bad position")]
    BadPosition,
    /// A ring with fewer than four positions.
    #[error("a ring has fewer than four positions")]
    TooFewPoints {
        /// The ring's first position, if it has one.
        at: Option<Coord>,
    },
    /// A ring whose last position differs from its first.
    #[error("a ring is not closed")]
    Unclosed {
        /// The ring's first position.
        at: Coord,
    },
    /// No rings at all.
    #[error("empty geometry")]
    Empty,
}

/// Parses a GeoJSON geometry text into a multipolygon, checking ring sizes and closure.
pub fn parse_geometry(text: &str) -> Result<MultiPolygon<f64>, ShapeError> {
    let value: Value = serde_json::from_str(text).map_err(|_| ShapeError::NotGeometry)?;
    geometry_from_value(&value)
}

/// Like [`parse_geometry`], from an already parsed JSON value.
pub fn geometry_from_value(value: &Value) -> Result<MultiPolygon<f64>, ShapeError> {
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .ok_or(ShapeError::NotGeometry)?;
    let coordinates = value.get("coordinates").ok_or(ShapeError::NotGeometry)?;
    let polygons = match kind {
        "Polygon" => vec![polygon(coordinates)?],
        "MultiPolygon" => coordinates
            .as_array()
            .ok_or(ShapeError::NotGeometry)?
            .iter()
            .map(polygon)
            .collect::<Result<Vec<_>, _>>()?,
        other => return Err(ShapeError::NotPolygon(other.to_owned())),
    };
    if polygons.is_empty() {
        return Err(ShapeError::Empty);
    }
    Ok(MultiPolygon(polygons))
}

fn polygon(value: &Value) -> Result<Polygon<f64>, ShapeError> {
    let rings = value.as_array().ok_or(ShapeError::NotGeometry)?;
    let mut rings = rings.iter().map(ring);
    let exterior = rings.next().ok_or(ShapeError::Empty)??;
    let interiors = rings.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, interiors))
}

fn ring(value: &Value) -> Result<LineString<f64>, ShapeError> {
    let positions = value.as_array().ok_or(ShapeError::NotGeometry)?;
    let coords = positions
        .iter()
        .map(position)
        .collect::<Result<Vec<_>, _>>()?;
    if coords.len() < 4 {
        return Err(ShapeError::TooFewPoints {
            at: coords.first().copied(),
        });
    }
    if coords.first() != coords.last() {
        return Err(ShapeError::Unclosed { at: coords[0] });
    }
    Ok(LineString(coords))
}

fn position(value: &Value) -> Result<Coord, ShapeError> {
    let pair = value.as_array().ok_or(ShapeError::BadPosition)?;
    let (Some(x), Some(y)) = (
        pair.first().and_then(Value::as_f64),
        pair.get(1).and_then(Value::as_f64),
    ) else {
        return Err(ShapeError::BadPosition);
    };
    if !(x.is_finite()
        && y.is_finite()
        && (-180.0..=180.0).contains(&x)
        && (-90.0..=90.0).contains(&y))
    {
        return Err(ShapeError::BadPosition);
    }
    Ok(Coord { x, y })
}

/// The GeoJSON geometry object of a multipolygon: a `Polygon` when it has one part.
pub fn to_geojson(shape: &MultiPolygon<f64>) -> Value {
    let polygon = |p: &Polygon<f64>| -> Value {
        let ring = |r: &LineString<f64>| -> Value {
            Value::Array(r.0.iter().map(|c| Value::from(vec![c.x, c.y])).collect())
        };
        let mut rings = vec![ring(p.exterior())];
        rings.extend(p.interiors().iter().map(ring));
        Value::Array(rings)
    };
    if let [single] = shape.0.as_slice() {
        serde_json::json!({"type": "Polygon", "coordinates": polygon(single)})
    } else {
        serde_json::json!({
            "type": "MultiPolygon",
            "coordinates": shape.0.iter().map(polygon).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_polygon_and_writes_it_back() {
        let text = r#"{"type":"Polygon","coordinates":[[[113.0,40.0],[113.1,40.0],[113.1,40.1],[113.0,40.0]]]}"#;
        let shape = parse_geometry(text).unwrap();
        assert_eq!(shape.0.len(), 1);
        assert_eq!(shape.0[0].exterior().0.len(), 4);
        let back = to_geojson(&shape);
        assert_eq!(parse_geometry(&back.to_string()).unwrap(), shape);
    }

    #[test]
    fn rejects_open_short_and_foreign_geometries() {
        let open = r#"{"type":"Polygon","coordinates":[[[113.0,40.0],[113.1,40.0],[113.1,40.1],[113.0,40.1]]]}"#;
        assert!(matches!(
            parse_geometry(open),
            Err(ShapeError::Unclosed { .. })
        ));
        let short =
            r#"{"type":"Polygon","coordinates":[[[113.0,40.0],[113.1,40.0],[113.0,40.0]]]}"#;
        assert!(matches!(
            parse_geometry(short),
            Err(ShapeError::TooFewPoints { .. })
        ));
        let point = r#"{"type":"Point","coordinates":[113.0,40.0]}"#;
        assert_eq!(
            parse_geometry(point),
            Err(ShapeError::NotPolygon("Point".into()))
        );
        let far = r#"{"type":"Polygon","coordinates":[[[213.0,40.0],[113.1,40.0],[113.1,40.1],[213.0,40.0]]]}"#;
        assert_eq!(parse_geometry(far), Err(ShapeError::BadPosition));
        assert_eq!(parse_geometry("nope"), Err(ShapeError::NotGeometry));
        let empty = r#"{"type":"MultiPolygon","coordinates":[]}"#;
        assert_eq!(parse_geometry(empty), Err(ShapeError::Empty));
    }
}
