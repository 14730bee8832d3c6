// The smaller maps of other pages, on map.js's base: a re-division proposal drawn beside
// today's division, and the station picker of the settings page.
(function () {
  "use strict";
  if (!window.L || !window.mulinMap) return;
  const { base, getJson } = window.mulinMap;
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728", "#393b79", "#637939"];

  // Leaflet cannot draw vectors on a map that has no view yet, so a map is framed on its
  // main layer before anything is added.
  function frame(map, layer) {
    const bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8] });
    else map.setView([40.25, 113.1], 13);
  }

  // The proposal: its grids filled by proposed grid, today's boundaries outlined, buildings
  // coloured by the grid they go to, moved ones ringed in red; hovering a move in the list
  // points at its building.
  function proposalMap(el) {
    const { map, t } = base(el);
    const crs = el.dataset.crs || "wgs84";
    const community = encodeURIComponent(el.dataset.community);
    const legend = document.getElementById("redivision-legend");
    const q = "crs=" + encodeURIComponent(crs);
    // A proposed grid is named by its id, or by its name while it does not exist yet.
    const keyOf = (id, name) => id || "new:" + name;
    Promise.all([
      getJson("/api/v1/communities/" + community + "/redivision/" + encodeURIComponent(el.dataset.proposal) + "?" + q),
      getJson("/api/v1/grids.geojson?under=" + community + "&" + q),
      getJson("/api/v1/map/layers?under=" + community + "&" + q),
    ])
      .then(([proposal, today, layers]) => {
        const colour = {};
        proposal.grids.features.forEach((f, i) => {
          colour[keyOf(f.properties.grid_id, f.properties.name)] = palette[i % palette.length];
        });
        const proposed = L.geoJSON(proposal.grids, {
          style: (f) => {
            const c = colour[keyOf(f.properties.grid_id, f.properties.name)];
            return { color: c, weight: 1, fillColor: c, fillOpacity: 0.25, className: "proposed-grid" };
          },
          onEachFeature: (f, shape) => shape.bindTooltip(f.properties.name + " · " + f.properties.households + t("redivision.map.households")),
        });
        frame(map, proposed);
        proposed.addTo(map);
        L.geoJSON(today, {
          filter: (f) => !!f.geometry,
          style: () => ({ color: "#222", weight: 2.5, dashArray: "6 4", fill: false, className: "today-grid" }),
          onEachFeature: (f, shape) => shape.bindTooltip(t("redivision.map.today") + " · " + f.properties.name, { sticky: true }),
        }).addTo(map);
        const moves = {};
        proposal.moves.forEach((m) => (moves[m.building_id] = m));
        const markers = {};
        layers.buildings.forEach((b) => {
          const move = moves[b.id];
          const to = move ? keyOf(move.to_grid_id, move.to_grid) : b.grid_id;
          const marker = L.circleMarker([b.at[1], b.at[0]], {
            radius: move ? 6 : 3,
            color: move ? "#c00" : "#555",
            weight: move ? 2 : 1,
            fillColor: colour[to] || "#999",
            fillOpacity: 0.9,
            className: move ? "building moved" : "building",
          })
            .bindTooltip(b.name + " · " + b.households + t("redivision.map.households") + (move ? " · " + move.from_grid + " → " + move.to_grid : ""))
            .addTo(map);
          markers[b.id] = marker;
        });
        legend.replaceChildren();
        proposal.grids.features.forEach((f) => {
          const item = document.createElement("span");
          item.className = "map-legend-step" + (f.properties.in_range ? "" : " out-of-range");
          const swatch = document.createElement("i");
          swatch.style.background = colour[keyOf(f.properties.grid_id, f.properties.name)];
          item.append(swatch, f.properties.name + " " + f.properties.households);
          legend.append(item);
        });
        const note = document.createElement("span");
        note.className = "muted";
        note.textContent = t("redivision.map.boundaries." + proposal.boundaries);
        legend.append(note);
        document.querySelectorAll("[data-building-id]").forEach((row) => {
          const marker = markers[row.dataset.buildingId];
          if (!marker) return;
          row.addEventListener("mouseenter", () => marker.openTooltip());
          row.addEventListener("mouseleave", () => marker.closeTooltip());
          row.addEventListener("click", () => {
            map.panTo(marker.getLatLng());
            marker.openTooltip();
          });
        });
      })
      .catch((err) => {
        console.error(err);
        legend.textContent = t("map.load_failed");
      });
  }

  // The station picker: the grids and stations in scope; a click puts its point into the
  // form's longitude and latitude fields. The page gives it tiles only when they are in
  // WGS-84, so everything drawn and every click is WGS-84, as stations are stored.
  function stationPicker(el) {
    const { map, t } = base(el);
    const lon = document.getElementById(el.dataset.lon);
    const lat = document.getElementById(el.dataset.lat);
    const under = el.dataset.under ? "?under=" + encodeURIComponent(el.dataset.under) : "";
    let pin = null;
    map.on("click", (e) => {
      lon.value = e.latlng.lng.toFixed(6);
      lat.value = e.latlng.lat.toFixed(6);
      if (pin) pin.setLatLng(e.latlng);
      else pin = L.marker(e.latlng, { title: t("stations.picked") }).addTo(map);
    });
    Promise.all([getJson("/api/v1/grids.geojson" + under), getJson("/api/v1/stations" + under)])
      .then(([grids, stations]) => {
        const shapes = L.geoJSON(grids, {
          filter: (f) => !!f.geometry,
          style: () => ({ color: "#444", weight: 1, fillOpacity: 0.1, className: "grid-shape" }),
        });
        frame(map, shapes);
        shapes.addTo(map);
        stations.forEach((s) => {
          L.circleMarker([s.at[1], s.at[0]], { radius: 6, color: "#2171b5", fillOpacity: 0.8, className: "station" })
            .bindTooltip(s.name)
            .addTo(map);
        });
      })
      .catch((err) => {
        console.error(err);
        el.dataset.failed = t("map.load_failed");
      });
  }

  const proposal = document.getElementById("redivision-map");
  if (proposal) proposalMap(proposal);
  const picker = document.getElementById("station-map");
  if (picker) stationPicker(picker);
})();
