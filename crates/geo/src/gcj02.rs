//! WGS-84 → GCJ-02, the obfuscated datum every map tile service in mainland China is drawn
//! in (高德, 腾讯 …). Mulin stores WGS-84; when the configured tiles are GCJ-02, the map's
//! coordinates are shifted with the published conversion so grids sit on the streets.
//! Outside mainland China's bounding box GCJ-02 equals WGS-84.

use std::f64::consts::PI;

/// Krasovsky 1940 semi-major axis, metres.
const A: f64 = 6_378_245.0;
/// Krasovsky 1940 first eccentricity squared.
const EE: f64 = 0.006_693_421_622_965_943;

fn outside_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn shift_lat(x: f64, y: f64) -> f64 {
    -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * x.abs().sqrt()
        + (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0
        + (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0
        + (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0
}

fn shift_lon(x: f64, y: f64) -> f64 {
    300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * x.abs().sqrt()
        + (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0
        + (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0
        + (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0
}

/// The GCJ-02 `[longitude, latitude]` of a WGS-84 one.
pub fn wgs84_to_gcj02(p: [f64; 2]) -> [f64; 2] {
    let [lon, lat] = p;
    if outside_china(lon, lat) {
        return p;
    }
    let (x, y) = (lon - 105.0, lat - 35.0);
    let rad_lat = lat.to_radians();
    let magic = 1.0 - EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let dlat = shift_lat(x, y) * 180.0 / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let dlon = shift_lon(x, y) * 180.0 / (A / sqrt_magic * rad_lat.cos() * PI);
    [lon + dlon, lat + dlat]
}

/// Every coordinate of a GeoJSON geometry (any type) converted in place.
pub fn geojson_to_gcj02(geometry: &mut serde_json::Value) {
    use serde_json::Value;
    match geometry {
        Value::Array(items) => {
            if let [Value::Number(x), Value::Number(y), ..] = items.as_slice() {
                if let (Some(x), Some(y)) = (x.as_f64(), y.as_f64()) {
                    let [gx, gy] = wgs84_to_gcj02([x, y]);
                    items[0] = serde_json::json!(gx);
                    items[1] = serde_json::json!(gy);
                }
            } else {
                items.iter_mut().for_each(geojson_to_gcj02);
            }
        }
        Value::Object(map) => {
            if let Some(coordinates) = map.get_mut("coordinates") {
                geojson_to_gcj02(coordinates);
            }
            if let Some(Value::Array(parts)) = map.get_mut("geometries") {
                parts.iter_mut().for_each(geojson_to_gcj02);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f64; 2], b: [f64; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6
    }

    #[test]
    fn known_points_shift_as_published() {
        // Pairs (WGS-84, GCJ-02) from the eviltransform reference tests.
        let known = [
            (
                [121.5272106, 31.1774276],
                [121.531541859215, 31.17530398364597],
            ), // Shanghai
            (
                [113.912316, 22.543847],
                [113.9171764808363, 22.540796131694766],
            ), // Shenzhen
            (
                [116.377817, 39.911954],
                [116.38404722455657, 39.91334545536069],
            ), // Beijing
        ];
        for (wgs, gcj) in known {
            let got = wgs84_to_gcj02(wgs);
            assert!(close(got, gcj), "{wgs:?} → {got:?}, expected {gcj:?}");
        }
    }

    #[test]
    fn outside_china_nothing_moves() {
        assert_eq!(wgs84_to_gcj02([2.3522, 48.8566]), [2.3522, 48.8566]);
    }

    #[test]
    fn geometries_convert_every_position() {
        let mut g = serde_json::json!({"type": "Polygon", "coordinates": [[[116.377817, 39.911954], [116.38, 39.92], [116.377817, 39.911954]]]});
        geojson_to_gcj02(&mut g);
        let first = &g["coordinates"][0][0];
        let got = [first[0].as_f64().unwrap(), first[1].as_f64().unwrap()];
        assert!(close(got, [116.38404722455657, 39.91334545536069]));
        let mut p = serde_json::json!({"type": "Point", "coordinates": [116.377817, 39.911954]});
        geojson_to_gcj02(&mut p);
        assert!((p["coordinates"][0].as_f64().unwrap() - 116.38404722455657).abs() < 1e-6);
    }
}
