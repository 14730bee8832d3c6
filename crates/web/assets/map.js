// The map page: grids coloured by a measure, buildings, open requests, service stations,
// the service circle, and a grid's panel on a click. Everything comes from the map API
// with the session cookie; texts come from the page (locale files).
(function () {
  "use strict";
  const getJson = (url) =>
    fetch(url, { credentials: "same-origin" }).then((r) => {
      if (!r.ok) throw new Error(url + ": " + r.status);
      return r.json();
    });
  // A Leaflet map in `el` with the tiles its data attributes configure (none by default:
  // a plain background), and its texts; shared with the smaller maps of map-extra.js.
  function base(el) {
    const map = L.map(el, { zoomControl: true, zoomSnap: 0.25, attributionControl: !!el.dataset.tileUrl });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.attribution, maxZoom: 19 }).addTo(map);
    } else {
      el.classList.add("map-plain");
    }
    const text = JSON.parse(el.dataset.text || "{}");
    return { map, t: (key) => text[key] || key };
  }
  window.mulinMap = { base, getJson };

  const el = document.getElementById("map");
  if (!el || !window.L) return;
  const { map, t } = base(el);
  const under = el.dataset.under;
  const crs = el.dataset.crs || "wgs84";
  const query = (extra) => {
    const params = new URLSearchParams(extra || {});
    if (under) params.set("under", under);
    const s = params.toString();
    return s ? "?" + s : "";
  };
  const grids = L.featureGroup().addTo(map);
  const buildings = L.layerGroup();
  const requests = L.layerGroup();
  const stations = L.layerGroup();
  const circle = L.layerGroup();
  const panel = document.getElementById("map-panel");
  const legend = document.getElementById("map-legend");
  const measureSelect = document.getElementById("map-measure");
  let features = [];
  let openByGrid = {};
  let selected = null;
  // Building positions as drawn, by id.
  const drawn = {};

  const measures = {
    households: (p) => p.households,
    density: (p) => p.density,
    special_share: (p) => p.special_share,
    open_requests: (p) => openByGrid[p.id] || 0,
    score: (p) => p.score,
  };
  const shades = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];
  const fmt = (v) => (Math.abs(v) >= 100 ? Math.round(v).toString() : (Math.round(v * 100) / 100).toString());

  function breaks(values) {
    const lo = Math.min(...values), hi = Math.max(...values);
    const step = (hi - lo) / shades.length || 1;
    return shades.map((_, i) => lo + step * i);
  }
  function shadeOf(value, cuts) {
    let i = 0;
    while (i + 1 < cuts.length && value >= cuts[i + 1]) i++;
    return shades[i];
  }

  function recolour() {
    const measure = measures[measureSelect.value] || measures.households;
    const values = features.map((f) => measure(f.feature.properties));
    if (!values.length) return;
    const cuts = breaks(values);
    features.forEach((layer, i) => {
      layer.setStyle({ fillColor: shadeOf(values[i], cuts) });
    });
    legend.replaceChildren();
    const title = document.createElement("strong");
    title.textContent = t("map.measure." + measureSelect.value);
    legend.append(title);
    cuts.forEach((cut, i) => {
      const row = document.createElement("span");
      row.className = "map-legend-step";
      const swatch = document.createElement("i");
      swatch.style.background = shades[i];
      row.append(swatch, " ≥ " + fmt(cut));
      legend.append(row);
    });
  }

  function row(dl, label, value) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dl.append(dt, dd);
  }

  function showPanel(id) {
    getJson("/api/v1/grids/" + encodeURIComponent(id) + "/panel")
      .then((p) => {
        panel.replaceChildren();
        const h = document.createElement("h2");
        h.textContent = p.name + (p.code ? " (" + p.code + ")" : "");
        const dl = document.createElement("dl");
        row(dl, t("map.panel.households"), p.households);
        row(dl, t("map.panel.residents"), p.residents);
        row(dl, t("map.panel.special_groups"), p.special_groups + " (" + Math.round(p.special_share * 100) + "%)");
        row(dl, t("map.panel.elderly"), p.elderly);
        const workers = p.workers.map((w) => w.name + (w.employment ? " · " + t("map.employment." + w.employment) : ""));
        row(dl, t("map.panel.workers"), workers.join("、") || t("map.panel.no_worker"));
        row(dl, t("map.panel.open_requests"), p.open_requests + (p.open_requests_more ? "+" : ""));
        row(dl, t("map.panel.buildings"), p.buildings);
        row(dl, t("map.panel.area"), fmt(p.area_km2) + " km²");
        row(dl, t("map.panel.density"), fmt(p.density));
        row(dl, t("map.panel.score"), fmt(p.score));
        const advice = document.createElement("p");
        advice.className = p.part_time_suggested ? "map-advice warn" : "map-advice";
        advice.dataset.testid = "map-advice";
        advice.textContent = p.part_time_suggested
          ? t("map.panel.suggest_part_time") + p.part_time_reasons.map((r) => t("map.reason." + r)).join("、")
          : t("map.panel.no_suggestion");
        panel.append(h, dl, advice);
        panel.hidden = false;
      })
      .catch(() => {
        panel.textContent = t("map.load_failed");
        panel.hidden = false;
      });
  }

  function gridStyle() {
    return { color: "#444", weight: 1, fillOpacity: 0.7, className: "grid-shape" };
  }

  getJson("/api/v1/grids.geojson" + query({ crs }))
    .then((collection) => {
      const layer = L.geoJSON(collection, {
        style: gridStyle,
        filter: (f) => !!f.geometry,
        onEachFeature: (feature, shape) => {
          features.push(shape);
          shape.bindTooltip(feature.properties.name, { permanent: true, direction: "center", className: "grid-label" });
          shape.on("click", () => {
            if (selected) selected.setStyle({ weight: 1, color: "#444" });
            selected = shape;
            shape.setStyle({ weight: 3, color: "#c00" });
            showPanel(feature.properties.id);
          });
        },
      });
      layer.eachLayer((l) => grids.addLayer(l));
      if (features.length) {
        map.fitBounds(grids.getBounds(), { padding: [8, 8] });
      } else {
        map.setView([40.25, 113.1], 13);
        legend.textContent = t("map.no_grids");
      }
      recolour();
      return getJson("/api/v1/map/layers" + query({ crs }));
    })
    .then((layers) => {
      layers.buildings.forEach((b) => {
        drawn[b.id] = b.at;
        L.circleMarker([b.at[1], b.at[0]], { radius: 3, color: "#555", weight: 1, fillOpacity: 0.8, className: "building" })
          .bindTooltip(b.name + " · " + b.households)
          .addTo(buildings);
      });
      openByGrid = {};
      layers.requests.forEach((r) => {
        if (r.grid_id) openByGrid[r.grid_id] = (openByGrid[r.grid_id] || 0) + 1;
        L.circleMarker([r.at[1], r.at[0]], { radius: 5, color: "#d62728", fillOpacity: 0.9, className: "request" })
          .bindTooltip(r.title)
          .on("click", () => { window.location.href = "/requests/" + r.id; })
          .addTo(requests);
      });
      layers.stations.forEach((s) => {
        L.marker([s.at[1], s.at[0]], { title: s.name })
          .bindTooltip(t("map.station." + s.kind) + " · " + s.name)
          .addTo(stations);
      });
      [["map-show-buildings", buildings], ["map-show-requests", requests], ["map-show-stations", stations]].forEach(([id, group]) => {
        const box = document.getElementById(id);
        if (box.checked) group.addTo(map);
        box.addEventListener("change", () => (box.checked ? group.addTo(map) : group.remove()));
      });
      recolour();
    })
    .catch(() => {
      legend.textContent = t("map.load_failed");
    });

  measureSelect.addEventListener("change", recolour);

  const circleBox = document.getElementById("map-show-circle");
  const summary = document.getElementById("map-circle-summary");
  circleBox.addEventListener("change", () => {
    if (!circleBox.checked) {
      circle.remove();
      summary.textContent = "";
      return;
    }
    getJson("/api/v1/service-circle" + query())
      .then((report) => {
        circle.clearLayers();
        report.grids.forEach((g) =>
          g.uncovered_buildings.forEach((b) => {
            // The report is in WGS-84: place the shading on the building as drawn, which
            // is already in the tiles' system.
            const place = drawn[b.id];
            if (!place) return;
            L.circleMarker([place[1], place[0]], { radius: 7, color: "#ff7f0e", weight: 2, fillOpacity: 0.35, className: "uncovered" })
              .bindTooltip(t("map.panel.uncovered") + ": " + b.households)
              .addTo(circle);
          })
        );
        circle.addTo(map);
        summary.textContent = t("map.circle.summary")
          .replace("{covered}", report.covered)
          .replace("{uncovered}", report.uncovered)
          .replace("{minutes}", report.rules.walk_minutes)
          .replace("{reach}", Math.round(report.rules.reach_m));
      })
      .catch(() => {
        summary.textContent = t("map.load_failed");
      });
  });
})();
