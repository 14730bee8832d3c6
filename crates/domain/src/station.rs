//! Service stations: the places seed 000's 15-minute service circle is drawn around.

use crate::codes::code_enum;

code_enum!(
    /// What a station is.
    StationKind, "station kind" {
        /// 党群服务站: the party-and-masses service station of a compound or grid.
        PartyService = "party_service",
        /// 便民服务站: a convenience service station.
        Convenience = "convenience",
    }
);
