// The agrimap map page: one MapLibre map over the bundled styles, a panel that
// turns the five themes on and off and switches style, and a popup with the
// attributes of the feature that was tapped. Everything comes from this server.
'use strict';

(function () {
  const STYLES = ['farmer', 'planner'];

  // The thematic layers of the catalog (source-layer ids), with a legend swatch.
  const THEMES = [
    { id: 'crop', title: 'Trồng trọt', color: '#b5d334', shape: 'area' },
    { id: 'aquaculture', title: 'Thủy sản', color: '#2fb3ef', shape: 'area' },
    { id: 'monitoring', title: 'Quan trắc', color: '#1b8a2f', shape: 'point' },
    { id: 'growing_area', title: 'Vùng trồng', color: '#2e7d32', shape: 'outline' },
    { id: 'ocop', title: 'Sản phẩm OCOP', color: '#e8590c', shape: 'point' },
  ];

  // In the order a tap prefers them when several are under the finger: small
  // point symbols first, then parcels and areas, then the base map.
  const LAYER_TITLES = {
    ocop: 'Sản phẩm OCOP',
    monitoring: 'Trạm quan trắc',
    crop: 'Thửa trồng trọt',
    aquaculture: 'Ao nuôi thủy sản',
    growing_area: 'Vùng trồng',
    places: 'Địa danh',
    roads: 'Đường',
    water: 'Sông, kênh',
    admin_commune: 'Xã',
    admin_district: 'Huyện',
    admin_province: 'Tỉnh',
  };
  const PRIORITY = Object.keys(LAYER_TITLES);

  const FIELD_LABELS = {
    name: 'Tên', code: 'Mã', kind: 'Loại', commune_code: 'Mã xã', province_code: 'Mã tỉnh',
    district_code: 'Mã huyện', boundary_set: 'Bộ ranh giới', area_ha: 'Diện tích (ha)',
    parcel_id: 'Mã thửa', crop_type: 'Cây trồng', season: 'Mùa vụ', variety: 'Giống',
    planting_date: 'Ngày gieo trồng', practice: 'Phương thức canh tác', growing_area_code: 'Mã số vùng trồng',
    pond_id: 'Mã ao nuôi', species: 'Đối tượng nuôi', mode: 'Hình thức nuôi',
    water_area_ha: 'Diện tích mặt nước (ha)', facility_code: 'Mã cơ sở nuôi', stocking_date: 'Ngày thả giống',
    certification: 'Chứng nhận', station_id: 'Mã trạm', parameters: 'Chỉ tiêu đo', operator: 'Đơn vị vận hành',
    status: 'Trạng thái', latest_salinity: 'Độ mặn (‰)', latest_ph: 'pH', latest_dissolved_oxygen: 'Oxy hòa tan (mg/L)',
    latest_temperature: 'Nhiệt độ (°C)', latest_pest_count: 'Rầy nâu vào đèn (con/đêm)', alert_state: 'Cảnh báo',
    last_reading_at: 'Lần đo gần nhất', markets: 'Thị trường', issued_on: 'Ngày cấp', expires_on: 'Ngày hết hạn',
    households: 'Số hộ', cooperative: 'HTX / doanh nghiệp', product_id: 'Mã sản phẩm', category: 'Nhóm sản phẩm',
    stars: 'Hạng sao', producer: 'Chủ thể', certified_year: 'Năm công nhận', qr_url: 'Truy xuất nguồn gốc',
    ntm_status: 'Nông thôn mới', ntm_year: 'Năm công nhận NTM', population: 'Dân số', width_m: 'Bề rộng (m)',
    ref: 'Số hiệu', class: 'Cấp đường', surface: 'Mặt đường',
  };

  const VALUE_LABELS = {
    rice: 'Lúa', mango: 'Xoài', longan: 'Nhãn', durian: 'Sầu riêng', pomelo: 'Bưởi', lotus: 'Sen',
    vegetables: 'Rau màu', dong_xuan: 'Đông Xuân', he_thu: 'Hè Thu', thu_dong: 'Thu Đông', perennial: 'Lâu năm',
    conventional: 'Thông thường', vietgap: 'VietGAP', globalgap: 'GlobalGAP', organic: 'Hữu cơ',
    black_tiger_shrimp: 'Tôm sú', whiteleg_shrimp: 'Tôm thẻ chân trắng', tra_catfish: 'Cá tra',
    giant_freshwater_prawn: 'Tôm càng xanh', snakehead: 'Cá lóc', intensive: 'Thâm canh',
    semi_intensive: 'Bán thâm canh', extensive: 'Quảng canh', rice_shrimp: 'Lúa – tôm', none: 'Không',
    asc: 'ASC', bap: 'BAP', water_quality: 'Chất lượng nước', insect_trap: 'Bẫy đèn', weather: 'Khí tượng',
    ok: 'Bình thường', watch: 'Cần theo dõi', alarm: 'Báo động', active: 'Đang hoạt động', maintenance: 'Bảo trì',
    offline: 'Ngừng hoạt động', suspended: 'Tạm đình chỉ', revoked: 'Đã thu hồi', not_yet: 'Chưa đạt',
    standard: 'Đạt chuẩn', advanced: 'Nâng cao', model: 'Kiểu mẫu', river: 'Sông', canal: 'Kênh',
    national: 'Quốc lộ', provincial: 'Đường tỉnh', district: 'Đường huyện', commune: 'Đường xã',
    asphalt: 'Nhựa', concrete: 'Bê tông', gravel: 'Cấp phối', province_capital: 'Tỉnh lỵ', town: 'Đô thị',
    commune_centre: 'Trung tâm xã', hamlet: 'Ấp', huyen: 'Huyện', thi_xa: 'Thị xã', thanh_pho: 'Thành phố',
    xa: 'Xã', phuong: 'Phường', thi_tran: 'Thị trấn', food: 'Thực phẩm', beverage: 'Đồ uống', herbal: 'Thảo dược',
    textile_handicraft: 'Thủ công mỹ nghệ, dệt may', ornamental: 'Sinh vật cảnh',
    tourism_service: 'Dịch vụ du lịch nông thôn',
  };
  // Where a value reads differently in one layer.
  const LAYER_VALUE_LABELS = { growing_area: { active: 'Còn hiệu lực' } };

  const hidden = new Set();
  const params = new URLSearchParams(window.location.search);
  let styleName = STYLES.includes(params.get('style')) ? params.get('style') : 'farmer';

  const map = new maplibregl.Map({
    container: 'map',
    style: '/styles/' + styleName + '.json',
    hash: true,
    maxZoom: 18,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    attributionControl: { compact: true },
    locale: {
      'NavigationControl.ZoomIn': 'Phóng to',
      'NavigationControl.ZoomOut': 'Thu nhỏ',
      'NavigationControl.ResetBearing': 'Quay về hướng bắc',
      'GeolocateControl.FindMyLocation': 'Vị trí của tôi',
      'GeolocateControl.LocationNotAvailable': 'Không xác định được vị trí',
      'Popup.Close': 'Đóng',
      'AttributionControl.ToggleAttribution': 'Thông tin bản quyền',
    },
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(
    new maplibregl.GeolocateControl({ positionOptions: { enableHighAccuracy: true }, trackUserLocation: true }),
    'top-right',
  );
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');

  // ---- themes panel ----
  const form = document.getElementById('themes');
  for (const theme of THEMES) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = true;
    box.value = theme.id;
    box.addEventListener('change', () => {
      if (box.checked) hidden.delete(theme.id);
      else hidden.add(theme.id);
      applyVisibility();
    });
    const swatch = document.createElement('span');
    swatch.className = 'swatch swatch-' + theme.shape;
    swatch.style.setProperty('--swatch', theme.color);
    const hint = document.createElement('small');
    hint.className = 'hint';
    hint.textContent = 'phóng to để xem';
    label.append(box, swatch, document.createTextNode(theme.title), hint);
    label.dataset.theme = theme.id;
    form.append(label);
  }
  if (window.matchMedia('(max-width: 600px)').matches) {
    document.getElementById('panel').open = false;
  }

  function applyVisibility() {
    for (const layer of map.getStyle().layers) {
      const theme = layer['source-layer'];
      if (THEMES.some((t) => t.id === theme)) {
        map.setLayoutProperty(layer.id, 'visibility', hidden.has(theme) ? 'none' : 'visible');
      }
    }
  }
  // The zoom from which the current style draws each theme.
  let themeMinzoom = {};
  function markOutOfZoom() {
    const zoom = map.getZoom();
    for (const label of form.querySelectorAll('label')) {
      label.classList.toggle('out-of-zoom', zoom < (themeMinzoom[label.dataset.theme] ?? 0));
    }
  }
  map.on('style.load', () => {
    themeMinzoom = {};
    for (const layer of map.getStyle().layers) {
      const theme = layer['source-layer'];
      const min = layer.minzoom ?? 0;
      if (theme && (themeMinzoom[theme] === undefined || min < themeMinzoom[theme])) themeMinzoom[theme] = min;
    }
    applyVisibility();
    markOutOfZoom();
  });
  map.on('zoomend', markOutOfZoom);

  const select = document.getElementById('style');
  select.value = styleName;
  select.addEventListener('change', () => {
    styleName = select.value;
    // A full reload of the style, so that `style.load` re-applies the toggles.
    map.setStyle('/styles/' + styleName + '.json', { diff: false });
    const url = new URL(window.location.href);
    url.searchParams.set('style', styleName);
    window.history.replaceState(null, '', url);
  });

  // ---- feature popup ----
  function valueText(layer, field, value) {
    if (value === null || value === undefined || value === '') return '—';
    if (field === 'stars' && Number.isInteger(value)) return '★'.repeat(value) + ' (' + value + ' sao)';
    if (typeof value === 'number') return value.toLocaleString('vi-VN', { maximumFractionDigits: 2 });
    const text = String(value);
    const own = LAYER_VALUE_LABELS[layer];
    return (own && own[text]) || VALUE_LABELS[text] || text;
  }

  function popupContent(feature) {
    const layer = feature.sourceLayer;
    const root = document.createElement('div');
    root.className = 'feature';
    const heading = document.createElement('h2');
    heading.textContent = LAYER_TITLES[layer] || layer;
    const table = document.createElement('table');
    for (const [field, value] of Object.entries(feature.properties)) {
      const row = table.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = FIELD_LABELS[field] || field;
      row.append(th);
      row.insertCell().textContent = valueText(layer, field, value);
    }
    root.append(heading, table);
    return root;
  }

  map.on('click', (e) => {
    const r = 8; // a fingertip, in CSS pixels
    const box = [[e.point.x - r, e.point.y - r], [e.point.x + r, e.point.y + r]];
    const rank = (f) => {
      const i = PRIORITY.indexOf(f.sourceLayer);
      return i < 0 ? PRIORITY.length : i;
    };
    const features = map.queryRenderedFeatures(box).filter((f) => f.source === 'agrimap');
    if (features.length === 0) return;
    // Stable sort: among equals, the topmost rendered feature stays first.
    features.sort((a, b) => rank(a) - rank(b));
    new maplibregl.Popup({ maxWidth: '320px' }).setLngLat(e.lngLat).setDOMContent(popupContent(features[0])).addTo(map);
  });

  // ---- errors ----
  const status = document.getElementById('status');
  let statusTimer = null;
  map.on('error', (e) => {
    status.textContent = 'Không tải được dữ liệu bản đồ' + (e.error && e.error.message ? ': ' + e.error.message : '');
    status.hidden = false;
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => { status.hidden = true; }, 6000);
  });
})();
