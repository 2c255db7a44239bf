// The agrimap map page, for farmers on a phone and planners on a laptop.
//
// One MapLibre map over the server's own styles (farmer, or planner with
// communes coloured by a statistic), a commune search that forgives missing
// diacritics (the server folds them), theme toggles with a legend read from the
// style itself, a bottom sheet with the details of what was tapped (a station's
// latest readings and its last 7 days as a small chart), the commune's summary
// and its layers as GeoJSON. Vietnamese first, English on request. Everything
// comes from this server; when it cannot be reached the page says so.
'use strict';

(function () {
  const STYLES = ['farmer', 'planner'];

  // The thematic layers of the catalog (source-layer ids), with the swatch
  // shape of their legend entry.
  const THEMES = [
    { id: 'crop', shape: 'area' },
    { id: 'aquaculture', shape: 'area' },
    { id: 'monitoring', shape: 'point' },
    { id: 'growing_area', shape: 'outline' },
    { id: 'ocop', shape: 'point' },
    { id: 'irrigation_works', shape: 'point' },
    { id: 'irrigated_areas', shape: 'outline' },
    { id: 'forest_plots', shape: 'area' },
    { id: 'livestock_farms', shape: 'point' },
  ];

  // In the order a tap prefers them when several are under the finger: small
  // point symbols first, then parcels and areas, then the base map.
  const PRIORITY = ['ocop', 'monitoring', 'livestock_farms', 'irrigation_works', 'crop', 'aquaculture', 'forest_plots',
    'irrigated_areas', 'growing_area', 'places', 'roads', 'water',
    'admin_commune', 'admin_district', 'admin_province'];

  // What the planner can colour communes by: a statistic of /api/stats.
  const METRICS = [
    { key: 'crop-area', query: 'layer=crop&metric=area' },
    { key: 'rice-area', query: 'layer=crop&metric=area&class=crop_type&value=rice' },
    { key: 'aquaculture-area', query: 'layer=aquaculture&metric=area' },
    { key: 'growing-area-count', query: 'layer=growing_area&metric=count' },
    { key: 'ocop-count', query: 'layer=ocop&metric=count' },
    { key: 'monitoring-count', query: 'layer=monitoring&metric=count' },
    // The light traps' week by commune (the newest week reported, every province shown).
    { key: 'pest-pressure', query: 'layer=pests' },
    { key: 'irrigated-area', query: 'layer=irrigated_areas&metric=area&class=irrigation&value=active' },
    { key: 'forest-area', query: 'layer=forest_plots&metric=area' },
    { key: 'livestock-head', query: 'layer=livestock_farms&metric=sum:head_count' },
  ];

  // Fields shown first in a feature's sheet, per layer; the rest follow.
  const FIRST_FIELDS = {
    crop: ['crop_type', 'season', 'variety', 'area_ha', 'practice', 'growing_area_code', 'planting_date'],
    aquaculture: ['species', 'mode', 'water_area_ha', 'facility_code', 'certification', 'stocking_date'],
    growing_area: ['code', 'status', 'markets', 'crop_type', 'area_ha', 'cooperative', 'expires_on'],
    ocop: ['name', 'stars', 'producer', 'category', 'certified_year', 'qr_url'],
    monitoring: ['name', 'kind', 'alert_state', 'status', 'last_reading_at'],
    irrigation_works: ['name', 'kind', 'capacity', 'length_m', 'condition', 'managing_body', 'built_year'],
    irrigated_areas: ['irrigation', 'drainage', 'source', 'served_by', 'area_ha'],
    forest_plots: ['forest_type', 'species', 'planting_year', 'area_ha'],
    livestock_farms: ['species', 'head_count', 'scale', 'biosecurity'],
  };
  // Station fields shown as readings (with their units), not as attributes.
  const READING_FIELDS = ['latest_salinity', 'latest_ph', 'latest_dissolved_oxygen', 'latest_temperature',
    'latest_pest_count'];

  // ---- words ----
  const TEXT = {
    vi: {
      'search.label': 'Tìm xã', 'search.placeholder': 'Tìm xã, ví dụ: my xuong', 'search.none': 'Không tìm thấy xã nào', 'search.former': 'trước đây',
      'province.label': 'Tỉnh, thành phố', 'province.before': 'trước 2025',
      'map.label': 'Bản đồ nông nghiệp', 'tools.label': 'Công cụ bản đồ', 'tools.layers': 'Lớp',
      'tools.locate': 'Vị trí', 'tools.planner': 'Quy hoạch', 'layers.title': 'Lớp bản đồ và chú giải',
      close: 'Đóng', 'pests.bulletin': 'Bản tin tuần', 'planner.metric': 'Tô màu xã theo', credits: 'Hiển thị bằng', synthetic: 'Dữ liệu mô phỏng.',
      'commune.summary': 'Tóm tắt', 'alerts.new': 'cảnh báo mới', 'commune.export': 'Tải GeoJSON', 'commune.clear': 'Bỏ chọn xã',
      'zoom.hint': 'phóng to để xem', 'locate.unsupported': 'Thiết bị này không cho biết vị trí.',
      'locate.insecure': 'Trình duyệt chỉ cho biết vị trí trên kết nối bảo mật (https).',
      'locate.failed': 'Không xác định được vị trí', 'locate.here': 'Bạn đang ở đây',
      'offline.server': 'Không kết nối được máy chủ bản đồ. Kiểm tra sóng điện thoại hoặc mạng rồi thử lại.',
      'offline.network': 'Mất kết nối mạng. Bản đồ sẽ tải tiếp khi có sóng.', retry: 'Thử lại',
      'error.data': 'Không tải được dữ liệu', 'readings.title': 'Số đo mới nhất', 'readings.chart': '7 ngày qua',
      'readings.none': 'Chưa có số đo.', 'readings.loading': 'Đang tải số đo…', 'readings.at': 'lúc',
      'alert.cause': 'Nguyên nhân', 'alert.threshold': 'ngưỡng', 'summary.title': 'Tóm tắt xã',
      'summary.crop': 'Trồng trọt', 'summary.aquaculture': 'Thủy sản', 'summary.growing': 'Vùng trồng',
      'summary.ocop': 'Sản phẩm OCOP', 'summary.stations': 'Trạm quan trắc', 'summary.ntm': 'Nông thôn mới',
      'summary.irrigation': 'Thủy lợi', 'summary.forestry': 'Lâm nghiệp', 'summary.livestock': 'Chăn nuôi',
      'summary.works': 'công trình', 'summary.farms': 'cơ sở',
      'summary.total': 'Tổng', 'summary.codes': 'mã vùng trồng', 'summary.products': 'sản phẩm',
      'summary.none': 'Không có', 'summary.loading': 'Đang tải…', 'summary.district': 'Huyện',
      'summary.area': 'Diện tích tự nhiên', 'export.all': 'Tải lớp của xã dưới dạng GeoJSON',
      'report.xlsx': 'Báo cáo Excel', 'report.print': 'Báo cáo in (A4)', 'summary.reports': 'Báo cáo',
      'report.province.xlsx': 'Báo cáo tỉnh (Excel)', 'report.province.print': 'Báo cáo tỉnh (in A4)',
      'compare.add': 'So sánh', 'compare.title': 'So sánh xã', 'compare.since': 'Thay đổi từ ngày', 'compare.pick': 'Đã chọn xã; chọn thêm một xã rồi bấm So sánh',
      'compare.full': 'So sánh tối đa 4 xã', 'compare.overview': 'Tổng quan', 'compare.province': 'Tỉnh, huyện',
      'compare.set': 'Bộ ranh giới', 'compare.set.pre': 'trước 01/7/2025', 'compare.set.new': 'từ 01/7/2025',
      'compare.area': 'Diện tích tự nhiên (ha)', 'compare.population': 'Dân số (người)', 'compare.ntm': 'Nông thôn mới',
      'compare.total': 'Tổng', 'compare.products': 'Số sản phẩm OCOP', 'compare.stars': 'sao',
      'compare.codes': 'Số mã vùng trồng', 'compare.growing_ha': 'Diện tích vùng trồng (ha)',
      'compare.stations': 'Số trạm quan trắc', 'compare.remove': 'Bỏ xã này khỏi so sánh', 'compare.features': 'cái',
      'ntm.token': 'Mã truy cập của cán bộ', 'ntm.token.use': 'Dùng mã', 'ntm.criteria_met': 'tiêu chí đạt',
      'ntm.dossier': 'Hồ sơ', 'ntm.state.draft': 'Đang lập', 'ntm.state.submitted': 'Đã nộp',
      'ntm.state.appraised': 'Đã thẩm định', 'ntm.state.recognised': 'Đã công nhận', 'ntm.state.returned': 'Bị trả lại',
      'ntm.state.revoked': 'Đã thu hồi', 'ntm.move.submitted': 'Nộp hồ sơ', 'ntm.move.appraised': 'Thẩm định',
      'ntm.move.returned': 'Trả lại hồ sơ', 'ntm.move.recognised': 'Công nhận', 'ntm.move.revoked': 'Thu hồi công nhận',
      'ntm.verdict.met': 'Đạt', 'ntm.verdict.not_met': 'Chưa đạt', 'ntm.verdict.no_data': 'Chưa có số liệu',
      'ntm.verdict.no_target': 'Chưa có chỉ tiêu', 'ntm.value': 'Kết quả', 'ntm.target': 'Chỉ tiêu', 'ntm.pass': 'Đạt',
      'ntm.fail': 'Không đạt', 'ntm.enter': 'Nhập kết quả', 'ntm.enter.pass': 'Đạt? (có / không)',
      'ntm.enter.number': 'Giá trị', 'ntm.ask.reasons': 'Lý do', 'ntm.ask.decision': 'Số quyết định',
      'ntm.ask.date': 'Ngày quyết định (NNNN-TT-NN)',
      'legend.max': 'cao nhất', 'stars': 'sao', 'yes': 'Có', 'no': 'Không', 'open.link': 'Mở trang truy xuất',
      'commune.selected': 'Xã đang chọn', 'feature.commune': 'Xã',
      'pack.download': 'Gói ngoại tuyến', 'pack.open': 'Mở gói ngoại tuyến',
      'pack.hint': 'Gói bản đồ của một xã, tải về khi có mạng, xem được khi mất sóng.',
      'pack.opened': 'Đang xem gói ngoại tuyến', 'pack.failed': 'Không mở được gói',
    },
    en: {
      'search.label': 'Find a commune', 'search.placeholder': 'Find a commune, e.g. my xuong',
      'search.none': 'No commune found', 'search.former': 'formerly', 'province.label': 'Province', 'province.before': 'before 2025', 'map.label': 'Agricultural map', 'tools.label': 'Map tools',
      'tools.layers': 'Layers', 'tools.locate': 'Locate', 'tools.planner': 'Planner',
      'layers.title': 'Layers and legend', close: 'Close', 'pests.bulletin': 'Weekly bulletin', 'planner.metric': 'Colour communes by',
      credits: 'Drawn with', synthetic: 'Synthetic data.', 'commune.summary': 'Summary', 'alerts.new': 'new alerts',
      'commune.export': 'GeoJSON', 'commune.clear': 'Clear commune', 'zoom.hint': 'zoom in to see',
      'locate.unsupported': 'This device does not give its location.',
      'locate.insecure': 'Browsers give the location only over a secure connection (https).',
      'locate.failed': 'Could not find your location', 'locate.here': 'You are here',
      'offline.server': 'The map server cannot be reached. Check the phone signal or the network and try again.',
      'offline.network': 'No network. The map will carry on loading when there is a signal.', retry: 'Try again',
      'error.data': 'Could not load data', 'readings.title': 'Latest readings', 'readings.chart': 'Last 7 days',
      'readings.none': 'No readings yet.', 'readings.loading': 'Loading readings…', 'readings.at': 'at',
      'alert.cause': 'Cause', 'alert.threshold': 'threshold', 'summary.title': 'Commune summary',
      'summary.crop': 'Crops', 'summary.aquaculture': 'Aquaculture', 'summary.growing': 'Growing areas',
      'summary.ocop': 'OCOP products', 'summary.stations': 'Monitoring stations', 'summary.ntm': 'New rural development',
      'summary.irrigation': 'Irrigation', 'summary.forestry': 'Forestry', 'summary.livestock': 'Livestock',
      'summary.works': 'works', 'summary.farms': 'farms',
      'summary.total': 'Total', 'summary.codes': 'growing-area codes', 'summary.products': 'products',
      'summary.none': 'None', 'summary.loading': 'Loading…', 'summary.district': 'District',
      'summary.area': 'Land area', 'export.all': "Download the commune's layers as GeoJSON",
      'report.xlsx': 'Excel report', 'report.print': 'Printable report (A4)', 'summary.reports': 'Reports',
      'report.province.xlsx': 'Province report (Excel)', 'report.province.print': 'Printable province report (A4)',
      'compare.add': 'Compare', 'compare.title': 'Communes side by side', 'compare.since': 'Change since', 'compare.pick': 'Commune chosen; choose another and press Compare',
      'compare.full': 'At most 4 communes side by side', 'compare.overview': 'Overview', 'compare.province': 'Province, district',
      'compare.set': 'Boundary set', 'compare.set.pre': 'before 1 July 2025', 'compare.set.new': 'from 1 July 2025',
      'compare.area': 'Land area (ha)', 'compare.population': 'Population', 'compare.ntm': 'New rural development',
      'compare.total': 'Total', 'compare.products': 'OCOP products', 'compare.stars': 'stars',
      'compare.codes': 'Growing-area codes', 'compare.growing_ha': 'Growing areas (ha)',
      'compare.stations': 'Monitoring stations', 'compare.remove': 'Remove this commune', 'compare.features': 'features',
      'ntm.token': 'Staff access token', 'ntm.token.use': 'Use', 'ntm.criteria_met': 'criteria met',
      'ntm.dossier': 'Dossier', 'ntm.state.draft': 'Draft', 'ntm.state.submitted': 'Submitted',
      'ntm.state.appraised': 'Appraised', 'ntm.state.recognised': 'Recognised', 'ntm.state.returned': 'Returned',
      'ntm.state.revoked': 'Revoked', 'ntm.move.submitted': 'Submit', 'ntm.move.appraised': 'Appraise',
      'ntm.move.returned': 'Return', 'ntm.move.recognised': 'Recognise', 'ntm.move.revoked': 'Revoke recognition',
      'ntm.verdict.met': 'Met', 'ntm.verdict.not_met': 'Not met', 'ntm.verdict.no_data': 'No data',
      'ntm.verdict.no_target': 'No target', 'ntm.value': 'Value', 'ntm.target': 'Target', 'ntm.pass': 'Met',
      'ntm.fail': 'Not met', 'ntm.enter': 'Enter value', 'ntm.enter.pass': 'Met? (yes / no)',
      'ntm.enter.number': 'Value', 'ntm.ask.reasons': 'Reasons', 'ntm.ask.decision': 'Decision number',
      'ntm.ask.date': 'Decision date (YYYY-MM-DD)',
      'legend.max': 'highest', 'stars': 'stars', 'yes': 'Yes', 'no': 'No', 'open.link': 'Open the traceability page',
      'commune.selected': 'Selected commune', 'feature.commune': 'Commune',
      'pack.download': 'Offline pack', 'pack.open': 'Open an offline pack',
      'pack.hint': "A commune's map, downloaded while there is a network, to use without one.",
      'pack.opened': 'Showing an offline pack', 'pack.failed': 'Could not open the pack',
    },
  };

  const LAYER_TITLES = {
    vi: {
      crop: 'Trồng trọt', aquaculture: 'Thủy sản', monitoring: 'Trạm quan trắc', growing_area: 'Vùng trồng',
      ocop: 'Sản phẩm OCOP', places: 'Địa danh', roads: 'Đường', water: 'Sông, kênh', admin_commune: 'Xã',
      admin_district: 'Huyện', admin_province: 'Tỉnh', irrigation_works: 'Công trình thủy lợi',
      irrigated_areas: 'Vùng tưới tiêu', forest_plots: 'Lô rừng', livestock_farms: 'Chăn nuôi',
    },
    en: {
      crop: 'Crops', aquaculture: 'Aquaculture', monitoring: 'Monitoring stations', growing_area: 'Growing areas',
      ocop: 'OCOP products', places: 'Places', roads: 'Roads', water: 'Rivers and canals', admin_commune: 'Commune',
      admin_district: 'District', admin_province: 'Province', irrigation_works: 'Irrigation works',
      irrigated_areas: 'Irrigated areas', forest_plots: 'Forest plots', livestock_farms: 'Livestock farms',
    },
  };

  const METRIC_TITLES = {
    vi: {
      'crop-area': 'Diện tích trồng trọt (ha)', 'rice-area': 'Diện tích lúa (ha)',
      'aquaculture-area': 'Diện tích nuôi thủy sản (ha)', 'growing-area-count': 'Số mã vùng trồng',
      'ocop-count': 'Số sản phẩm OCOP', 'monitoring-count': 'Số trạm quan trắc',
      'pest-pressure': 'Mức sâu hại theo bẫy đèn (tuần)',
      'irrigated-area': 'Diện tích tưới chủ động (ha)', 'forest-area': 'Diện tích rừng (ha)',
      'livestock-head': 'Tổng đàn vật nuôi (con)',
    },
    en: {
      'crop-area': 'Cropped area (ha)', 'rice-area': 'Rice area (ha)', 'aquaculture-area': 'Aquaculture area (ha)',
      'growing-area-count': 'Growing-area codes', 'ocop-count': 'OCOP products', 'monitoring-count': 'Monitoring stations',
      'pest-pressure': 'Pest pressure from light traps (week)',
      'irrigated-area': 'Actively irrigated area (ha)', 'forest-area': 'Forest area (ha)', 'livestock-head': 'Livestock (head)',
    },
  };

  const FIELD_LABELS = {
    vi: {
      name: 'Tên', code: 'Mã', kind: 'Loại', commune_code: 'Mã xã', province_code: 'Mã tỉnh',
      district_code: 'Mã huyện', boundary_set: 'Bộ ranh giới', area_ha: 'Diện tích (ha)',
      parcel_id: 'Mã thửa', crop_type: 'Cây trồng', season: 'Mùa vụ', variety: 'Giống',
      planting_date: 'Ngày gieo trồng', practice: 'Phương thức canh tác', growing_area_code: 'Mã số vùng trồng',
      pond_id: 'Mã ao nuôi', species: 'Đối tượng nuôi', mode: 'Hình thức nuôi',
      water_area_ha: 'Diện tích mặt nước (ha)', facility_code: 'Mã cơ sở nuôi', stocking_date: 'Ngày thả giống',
      certification: 'Chứng nhận', station_id: 'Mã trạm', parameters: 'Chỉ tiêu đo', operator: 'Đơn vị vận hành',
      status: 'Trạng thái', latest_salinity: 'Độ mặn', latest_ph: 'pH', latest_dissolved_oxygen: 'Oxy hòa tan',
      latest_temperature: 'Nhiệt độ', latest_pest_count: 'Côn trùng vào đèn', alert_state: 'Cảnh báo',
      last_reading_at: 'Lần đo gần nhất', markets: 'Thị trường', issued_on: 'Ngày cấp', expires_on: 'Ngày hết hạn',
      households: 'Số hộ', cooperative: 'HTX / doanh nghiệp', product_id: 'Mã sản phẩm', category: 'Nhóm sản phẩm',
      stars: 'Hạng sao', producer: 'Chủ thể', certified_year: 'Năm công nhận', qr_url: 'Truy xuất nguồn gốc',
      ntm_status: 'Nông thôn mới', ntm_year: 'Năm công nhận NTM', population: 'Dân số', width_m: 'Bề rộng (m)',
      ref: 'Số hiệu', class: 'Cấp đường', surface: 'Mặt đường', work_id: 'Mã công trình',
      capacity: 'Lưu lượng thiết kế (m³/s)', length_m: 'Chiều dài (m)', condition: 'Tình trạng',
      managing_body: 'Đơn vị quản lý', built_year: 'Năm xây dựng', area_id: 'Mã vùng tưới', irrigation: 'Tưới',
      drainage: 'Tiêu', source: 'Nguồn nước', served_by: 'Công trình phục vụ', plot_id: 'Mã lô rừng',
      forest_type: 'Loại rừng', planting_year: 'Năm trồng', farm_id: 'Mã cơ sở chăn nuôi', head_count: 'Số con',
      scale: 'Quy mô', biosecurity: 'An toàn sinh học',
    },
    en: {
      name: 'Name', code: 'Code', kind: 'Kind', commune_code: 'Commune code', province_code: 'Province code',
      district_code: 'District code', boundary_set: 'Boundary set', area_ha: 'Area (ha)', parcel_id: 'Parcel',
      crop_type: 'Crop', season: 'Season', variety: 'Variety', planting_date: 'Planted on', practice: 'Practice',
      growing_area_code: 'Growing-area code', pond_id: 'Pond', species: 'Species', mode: 'Farming mode',
      water_area_ha: 'Water area (ha)', facility_code: 'Facility code', stocking_date: 'Stocked on',
      certification: 'Certification', station_id: 'Station', parameters: 'Parameters', operator: 'Operator',
      status: 'Status', latest_salinity: 'Salinity', latest_ph: 'pH', latest_dissolved_oxygen: 'Dissolved oxygen',
      latest_temperature: 'Temperature', latest_pest_count: 'Insects trapped', alert_state: 'Alert',
      last_reading_at: 'Latest reading', markets: 'Markets', issued_on: 'Issued on', expires_on: 'Expires on',
      households: 'Households', cooperative: 'Cooperative / company', product_id: 'Product', category: 'Category',
      stars: 'Stars', producer: 'Producer', certified_year: 'Certified in', qr_url: 'Traceability',
      ntm_status: 'New rural status', ntm_year: 'NTM year', population: 'Population', width_m: 'Width (m)',
      ref: 'Number', class: 'Class', surface: 'Surface', work_id: 'Work', capacity: 'Design discharge (m³/s)',
      length_m: 'Length (m)', condition: 'Condition', managing_body: 'Managed by', built_year: 'Built in',
      area_id: 'Irrigated area', irrigation: 'Irrigation', drainage: 'Drainage', source: 'Water supply',
      served_by: 'Served by', plot_id: 'Forest plot', forest_type: 'Forest type', planting_year: 'Planted in',
      farm_id: 'Farm', head_count: 'Head', scale: 'Scale', biosecurity: 'Biosecurity',
    },
  };

  const VALUE_LABELS = {
    vi: {
      rice: 'Lúa', mango: 'Xoài', longan: 'Nhãn', durian: 'Sầu riêng', pomelo: 'Bưởi', lotus: 'Sen',
      vegetables: 'Rau màu', dong_xuan: 'Đông Xuân', he_thu: 'Hè Thu', thu_dong: 'Thu Đông', perennial: 'Lâu năm',
      conventional: 'Thông thường', vietgap: 'VietGAP', globalgap: 'GlobalGAP', organic: 'Hữu cơ',
      black_tiger_shrimp: 'Tôm sú', whiteleg_shrimp: 'Tôm thẻ chân trắng', tra_catfish: 'Cá tra',
      giant_freshwater_prawn: 'Tôm càng xanh', snakehead: 'Cá lóc', intensive: 'Thâm canh',
      semi_intensive: 'Bán thâm canh', extensive: 'Quảng canh', rice_shrimp: 'Lúa – tôm', none: 'Không',
      asc: 'ASC', bap: 'BAP', water_quality: 'Chất lượng nước', insect_trap: 'Bẫy đèn', weather: 'Khí tượng',
      ok: 'Bình thường', watch: 'Cần theo dõi', alarm: 'Báo động', silent: 'Mất tín hiệu', active: 'Đang hoạt động', maintenance: 'Bảo trì',
      offline: 'Ngừng hoạt động', suspended: 'Tạm đình chỉ', revoked: 'Đã thu hồi', expired: 'Hết hạn', not_yet: 'Chưa đạt',
      standard: 'Đạt chuẩn', advanced: 'Nâng cao', model: 'Kiểu mẫu', river: 'Sông', canal: 'Kênh',
      national: 'Quốc lộ', provincial: 'Đường tỉnh', district: 'Đường huyện', commune: 'Đường xã',
      asphalt: 'Nhựa', concrete: 'Bê tông', gravel: 'Cấp phối', province_capital: 'Tỉnh lỵ', town: 'Đô thị',
      commune_centre: 'Trung tâm xã', hamlet: 'Ấp', huyen: 'Huyện', thi_xa: 'Thị xã', thanh_pho: 'Thành phố',
      xa: 'Xã', phuong: 'Phường', thi_tran: 'Thị trấn', food: 'Thực phẩm', beverage: 'Đồ uống', herbal: 'Thảo dược',
      textile_handicraft: 'Thủ công mỹ nghệ, dệt may', ornamental: 'Sinh vật cảnh',
      tourism_service: 'Dịch vụ du lịch nông thôn', salinity: 'Độ mặn', ph: 'pH', dissolved_oxygen: 'Oxy hòa tan',
      temperature: 'Nhiệt độ', pest_count: 'Côn trùng vào đèn (chưa phân loài)', above: 'trên', below: 'dưới',
      good: 'Tốt', fair: 'Khá', degraded: 'Xuống cấp', damaged: 'Hư hỏng', large: 'Trang trại quy mô lớn',
      medium: 'Trang trại quy mô vừa', small: 'Trang trại quy mô nhỏ', household: 'Chăn nuôi nông hộ',
      vietgahp: 'VietGAHP', disease_free: 'Cơ sở an toàn dịch bệnh',
    },
    en: {
      rice: 'Rice', mango: 'Mango', longan: 'Longan', durian: 'Durian', pomelo: 'Pomelo', lotus: 'Lotus',
      vegetables: 'Vegetables', dong_xuan: 'Winter–spring', he_thu: 'Summer–autumn', thu_dong: 'Autumn–winter',
      perennial: 'Perennial', conventional: 'Conventional', vietgap: 'VietGAP', globalgap: 'GlobalGAP',
      organic: 'Organic', black_tiger_shrimp: 'Black tiger shrimp', whiteleg_shrimp: 'Whiteleg shrimp',
      tra_catfish: 'Tra catfish', giant_freshwater_prawn: 'Giant freshwater prawn', snakehead: 'Snakehead',
      intensive: 'Intensive', semi_intensive: 'Semi-intensive', extensive: 'Extensive', rice_shrimp: 'Rice–shrimp',
      none: 'None', asc: 'ASC', bap: 'BAP', water_quality: 'Water quality', insect_trap: 'Light trap',
      weather: 'Weather', ok: 'Normal', watch: 'Watch', alarm: 'Alarm', silent: 'Silent', active: 'Active', maintenance: 'Maintenance',
      offline: 'Offline', suspended: 'Suspended', revoked: 'Revoked', expired: 'Expired', not_yet: 'Not yet', standard: 'Standard',
      advanced: 'Advanced', model: 'Model', river: 'River', canal: 'Canal', national: 'National road',
      provincial: 'Provincial road', district: 'District road', commune: 'Commune road', asphalt: 'Asphalt',
      concrete: 'Concrete', gravel: 'Gravel', province_capital: 'Provincial capital', town: 'Town',
      commune_centre: 'Commune centre', hamlet: 'Hamlet', huyen: 'District', thi_xa: 'Town', thanh_pho: 'City',
      xa: 'Commune', phuong: 'Ward', thi_tran: 'Township', food: 'Food', beverage: 'Beverage', herbal: 'Herbal',
      textile_handicraft: 'Handicraft and textiles', ornamental: 'Ornamental', tourism_service: 'Rural tourism',
      salinity: 'Salinity', ph: 'pH', dissolved_oxygen: 'Dissolved oxygen', temperature: 'Temperature',
      pest_count: 'Insects trapped (not sorted)', above: 'above', below: 'below',
      good: 'Good', fair: 'Fair', degraded: 'Degraded', damaged: 'Damaged', large: 'Large farm',
      medium: 'Medium farm', small: 'Small farm', household: 'Household', vietgahp: 'VietGAHP',
      disease_free: 'Disease-free facility',
    },
  };
  // Where a value reads differently in one layer.
  // The store's value lists (crop types, seasons, species, …) with both
  // labels, from /api/codes: a code a province added is named like the others.
  const CODE_LABELS = {};
  // A light trap's species count (`pest_count:brown_planthopper`) is named by its species.
  function parameterLabel(p) {
    if (p.startsWith('pest_count:')) return codeLabel(p.slice('pest_count:'.length)) || p.slice('pest_count:'.length);
    return VALUE_LABELS[lang][p] || p;
  }
  function codeLabel(text) {
    const labels = CODE_LABELS[text];
    return labels && (lang === 'vi' ? labels.label_vi : labels.label_en);
  }
  const LAYER_VALUE_LABELS = {
    vi: { growing_area: { active: 'Còn hiệu lực' }, irrigated_areas: { active: 'Chủ động', not_active: 'Không chủ động' } },
    en: { growing_area: { active: 'Valid' }, irrigated_areas: { active: 'Active', not_active: 'Not active' } },
  };
  // Units of the catalog, as people write them.
  const UNIT_LABELS = { vi: { ppt: '‰', 'insects/night': 'con/đêm' }, en: { ppt: '‰', 'insects/night': 'per night' } };

  // ---- state ----
  const params = new URLSearchParams(window.location.search);
  let lang = params.get('lang') || localStorage.getItem('agrimap.lang') || 'vi';
  if (!TEXT[lang]) lang = 'vi';
  let styleName = STYLES.includes(params.get('style')) ? params.get('style') : 'farmer';
  let metricKey = METRICS.some((m) => m.key === params.get('metric')) ? params.get('metric') : METRICS[0].key;
  const hidden = new Set();
  let commune = null; // { code, name, set } of the commune in focus
  let compared = []; // [{ code, set }] of the communes side by side, as asked
  // Read before the map is made: the map rewrites the hash with its position.
  const initialHash = window.location.hash;
  // A published archive to draw the map from, instead of the server's tiles.
  const archiveUrl = params.get('pmtiles');
  // The boundary set the map draws (the server's style says which) and the
  // provinces the store holds, for the title and the province switch.
  let shownSet = null;
  let chosenSet = null; // asked for by the province switch; null for the server's choice
  let provincesHeld = [];
  const setParam = (set) => 'boundary_set=' + encodeURIComponent(set || shownSet || '');
  let sheetRender = null; // re-renders the open sheet after a language switch
  let units = {}; // field → unit, from /catalog

  const t = (key) => TEXT[lang][key] || TEXT.vi[key] || key;
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  };
  const locale = () => (lang === 'vi' ? 'vi-VN' : 'en-GB');
  const number = (v, digits = 2) => Number(v).toLocaleString(locale(), { maximumFractionDigits: digits });
  const dateTime = (iso) => new Date(iso).toLocaleString(locale(), {
    timeZone: 'Asia/Ho_Chi_Minh', day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit',
  });
  const unitText = (unit) => (unit ? (UNIT_LABELS[lang][unit] || unit) : '');

  // ---- reaching the server ----
  const offline = $('offline');
  let packOpen = false; // the map is drawn from an offline pack: the server is not needed
  function showOffline(key) {
    if (packOpen) return;
    $('offline-text').textContent = t(key);
    $('retry').textContent = t('retry');
    offline.hidden = false;
  }
  async function checkServer() {
    try {
      const r = await fetch('/health', { cache: 'no-store' });
      if (!r.ok && r.status !== 503) throw new Error(String(r.status));
      offline.hidden = true;
      return true;
    } catch (e) {
      showOffline(navigator.onLine === false ? 'offline.network' : 'offline.server');
      return false;
    }
  }
  async function getJson(url) {
    let r;
    try {
      r = await fetch(url);
    } catch (e) {
      showOffline(navigator.onLine === false ? 'offline.network' : 'offline.server');
      throw e;
    }
    if (!r.ok) {
      const body = await r.json().catch(() => null);
      throw new Error((body && body.error && body.error.message) || r.status + ' ' + r.statusText);
    }
    return r.json();
  }
  $('retry').addEventListener('click', async () => {
    if (await checkServer()) {
      map.setStyle(styleUrl(), { diff: false });
    }
  });
  window.addEventListener('offline', () => showOffline('offline.network'));
  window.addEventListener('online', () => checkServer());

  const status = $('status');
  let statusTimer = null;
  function say(message) {
    status.textContent = message;
    status.hidden = false;
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => { status.hidden = true; }, 6000);
  }

  if (!window.maplibregl) {
    showOffline('offline.server');
    return;
  }

  // ---- the map ----
  function styleUrl() {
    const set = chosenSet ? 'boundary_set=' + encodeURIComponent(chosenSet) : '';
    if (styleName !== 'planner') return '/styles/farmer.json' + (set ? '?' + set : '');
    return '/styles/planner.json?' + METRICS.find((m) => m.key === metricKey).query + (set ? '&' + set : '');
  }
  const mapElement = $('map');
  const map = new maplibregl.Map({
    container: 'map',
    // Drawn from an archive, the map asks the server for no tile at all.
    style: archiveUrl ? { version: 8, sources: {}, layers: [] } : styleUrl(),
    hash: true,
    maxZoom: 18,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    attributionControl: { compact: true },
    // Labels of the map's own controls, in the page's language at start.
    locale: {
      'NavigationControl.ZoomIn': lang === 'vi' ? 'Phóng to' : 'Zoom in',
      'NavigationControl.ZoomOut': lang === 'vi' ? 'Thu nhỏ' : 'Zoom out',
      'AttributionControl.ToggleAttribution': lang === 'vi' ? 'Thông tin bản quyền' : 'Attribution',
    },
  });
  map.touchZoomRotate.disableRotation();
  map.keyboard.enable();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  // Tests and curious people can reach the map from the console.
  window.agrimap = { map };

  // `data-state` tells whether everything in view has been drawn.
  map.on('dataloading', () => { mapElement.dataset.state = 'loading'; });
  map.on('idle', () => {
    mapElement.dataset.state = 'idle';
    // When the first complete map was on screen, for measurements on slow networks.
    if (!window.agrimap.firstIdleAt) window.agrimap.firstIdleAt = performance.now();
  });
  map.once('load', () => { window.agrimap.loadedAt = performance.now(); });
  map.on('error', (e) => {
    const message = e.error && e.error.message ? e.error.message : '';
    // A fetch that never got an answer: the server or the signal is gone.
    if (/Failed to fetch|NetworkError|Load failed/.test(message) || e.error && e.error.status === 0) {
      checkServer();
    } else {
      say(t('error.data') + (message ? ': ' + message : ''));
    }
  });

  // Units of the readings, from the catalog; asked for after the first map, off its critical path.
  map.once('idle', () => {
    fetch('/catalog').then((r) => r.json()).then((catalog) => {
      for (const layer of catalog.layers) {
        for (const f of layer.fields) if (f.unit) units[f.name] = f.unit;
      }
    }).catch(() => checkServer());
  });

  // ---- themes and legend ----
  const form = $('themes');
  // value → colour of the `match` expression that colours a theme in the current style.
  function legendEntries(themeId) {
    const layers = (map.getStyle() ? map.getStyle().layers : []).filter((l) => l['source-layer'] === themeId);
    for (const layer of layers) {
      const paint = layer.paint || {};
      const colour = paint['fill-color'] || paint['circle-color'] || paint['line-color'];
      // A growing area's status is judged against its expiry date by the
      // server's style: a `case` whose last branch is the plain field.
      const input = Array.isArray(colour) && Array.isArray(colour[1]) && colour[1][0] === 'case' ? colour[1][colour[1].length - 1] : colour && colour[1];
      if (Array.isArray(colour) && colour[0] === 'match' && Array.isArray(input) && input[0] === 'get') {
        const entries = [];
        for (let i = 2; i + 1 < colour.length; i += 2) {
          const values = Array.isArray(colour[i]) ? colour[i] : [colour[i]];
          for (const v of values) entries.push({ field: input[1], value: v, colour: colour[i + 1] });
        }
        return entries;
      }
      if (typeof colour === 'string') return [{ colour }];
    }
    return [];
  }
  function valueText(layer, field, value) {
    if (value === null || value === undefined || value === '') return '—';
    if (field === 'stars' && Number.isInteger(value)) return '★'.repeat(value) + ' (' + value + ' ' + t('stars') + ')';
    if (/_year$/.test(field)) return String(value);
    if (typeof value === 'number') return number(value);
    if (/_(on|date)$/.test(field) && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
      return new Date(value + 'T00:00:00Z').toLocaleDateString(locale(), { timeZone: 'UTC' });
    }
    if (/_at$/.test(field) && /^\d{4}-\d{2}-\d{2}T/.test(value)) return dateTime(value);
    const text = String(value);
    if (field === 'markets' || field === 'parameters') {
      return text.split(',').map((v) => VALUE_LABELS[lang][v.trim()] || v.trim()).join(', ');
    }
    const own = LAYER_VALUE_LABELS[lang][layer];
    return (own && own[text]) || codeLabel(text) || VALUE_LABELS[lang][text] || text;
  }
  function renderThemes() {
    form.replaceChildren();
    const zoom = map.getZoom();
    for (const theme of THEMES) {
      const box = el('input', { type: 'checkbox', value: theme.id, id: 'theme-' + theme.id });
      box.checked = !hidden.has(theme.id);
      box.addEventListener('change', () => {
        if (box.checked) hidden.delete(theme.id);
        else hidden.add(theme.id);
        applyVisibility();
      });
      const entries = legendEntries(theme.id);
      const main = entries.length === 1 || entries.length === 0 ? (entries[0] || {}).colour : entries[0].colour;
      const swatch = el('span', { class: 'swatch swatch-' + theme.shape, 'aria-hidden': 'true' });
      swatch.style.setProperty('--swatch', main || '#888');
      const outOfZoom = zoom < (themeMinzoom[theme.id] ?? 0);
      const label = el('label', { for: box.id, class: outOfZoom ? 'out-of-zoom' : '' }, box, swatch,
        el('span', { class: 'theme-name', text: LAYER_TITLES[lang][theme.id] }),
        outOfZoom ? el('small', { class: 'hint', text: t('zoom.hint') }) : null);
      const legend = el('ul', { class: 'legend', 'aria-label': LAYER_TITLES[lang][theme.id] });
      if (entries.length > 1) {
        for (const entry of entries) {
          const s = el('span', { class: 'swatch swatch-' + theme.shape, 'aria-hidden': 'true' });
          s.style.setProperty('--swatch', entry.colour);
          legend.append(el('li', {}, s, document.createTextNode(valueText(theme.id, entry.field, entry.value))));
        }
      }
      form.append(el('div', { class: 'theme', 'data-theme': theme.id }, label, entries.length > 1 ? legend : null));
    }
  }
  function applyVisibility() {
    for (const layer of map.getStyle().layers) {
      const theme = layer['source-layer'];
      if (THEMES.some((th) => th.id === theme)) {
        map.setLayoutProperty(layer.id, 'visibility', hidden.has(theme) ? 'none' : 'visible');
      }
    }
  }
  let themeMinzoom = {};
  map.on('style.load', () => {
    themeMinzoom = {};
    for (const layer of map.getStyle().layers) {
      const theme = layer['source-layer'];
      const min = layer.minzoom ?? 0;
      if (theme && (themeMinzoom[theme] === undefined || min < themeMinzoom[theme])) themeMinzoom[theme] = min;
    }
    applyVisibility();
    renderThemes();
    renderChoroplethLegend();
    highlightCommune();
  });
  map.on('zoomend', () => { if (!$('layers').hidden) renderThemes(); });

  const layersPanel = $('layers');
  const layersButton = $('layers-button');
  function setLayersOpen(open) {
    layersPanel.hidden = !open;
    layersButton.setAttribute('aria-expanded', String(open));
    if (open) {
      renderThemes();
      layersPanel.querySelector('input, select, button').focus();
    }
  }
  layersButton.addEventListener('click', () => setLayersOpen(layersPanel.hidden));
  $('layers-close').addEventListener('click', () => { setLayersOpen(false); layersButton.focus(); });
  if (window.matchMedia('(min-width: 900px)').matches) setLayersOpen(true);

  // ---- planner mode ----
  const modeButton = $('mode');
  const metricSelect = $('metric');
  function renderMetrics() {
    metricSelect.replaceChildren(...METRICS.map((m) => el('option', { value: m.key, text: METRIC_TITLES[lang][m.key] })));
    metricSelect.value = metricKey;
  }
  function renderChoroplethLegend() {
    const box = $('choropleth-legend');
    box.replaceChildren();
    const layer = styleName === 'planner' && map.getStyle() && map.getStyle().layers.find((l) => l.id === 'commune-choropleth');
    const meta = layer && layer.metadata && layer.metadata['agrimap:choropleth'];
    if (!meta) return;
    if (meta.categories) {
      // Pest pressure: one swatch per state, and the week it is of.
      const names = { vi: { ok: 'Bình thường', watch: 'Theo dõi', alarm: 'Báo động' },
        en: { ok: 'Normal', watch: 'Watch', alarm: 'Alarm' } };
      box.append(...meta.categories.map(([state, colour]) => {
        const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
        swatch.style.background = colour;
        return el('span', { class: 'category' }, swatch, names[lang][state] || state);
      }), el('span', { text: meta.week || '' }));
      // The week's bulletin of each province coloured, as a printable page.
      for (const code of meta.provinces || []) {
        const href = '/api/bulletins/pests?province=' + encodeURIComponent(code) + '&week=' + encodeURIComponent(meta.week) + '&f=html';
        box.append(el('a', { class: 'bulletin', href, target: '_blank', rel: 'noopener', text: t('pests.bulletin') }));
      }
      return;
    }
    const stops = meta.stops.map((s) => s[1]);
    const bar = el('span', { class: 'ramp-bar', 'aria-hidden': 'true' });
    bar.style.background = 'linear-gradient(to right, ' + stops.join(', ') + ')';
    box.append(el('span', { text: '0' }), bar,
      el('span', { text: number(meta.max, meta.unit === 'ha' ? 0 : 0) + (meta.unit ? ' ' + meta.unit : '') }));
  }
  // The planner's statistics panel is a script of its own, fetched the
  // first time the page is in planner mode: farmers never download it.
  function loadStatsPanel() {
    if (document.getElementById('stats-script')) return;
    document.head.append(el('script', { src: '/static/stats.js', id: 'stats-script' }));
  }

  function setMode(name) {
    styleName = name;
    const planner = name === 'planner';
    if (planner) loadStatsPanel();
    modeButton.setAttribute('aria-pressed', String(planner));
    $('metric-choice').hidden = !planner;
    map.setStyle(styleUrl(), { diff: false });
    const url = new URL(window.location.href);
    url.searchParams.set('style', name);
    if (planner) url.searchParams.set('metric', metricKey);
    else url.searchParams.delete('metric');
    window.history.replaceState(null, '', url);
    updateCompareButton();
  }
  modeButton.addEventListener('click', () => setMode(styleName === 'planner' ? 'farmer' : 'planner'));
  metricSelect.addEventListener('change', () => {
    metricKey = metricSelect.value;
    setMode('planner');
  });
  modeButton.setAttribute('aria-pressed', String(styleName === 'planner'));
  $('metric-choice').hidden = styleName !== 'planner';
  if (styleName === 'planner') map.once('load', loadStatsPanel);

  // ---- the commune in focus ----
  const communeBar = $('commune');
  function highlightCommune() {
    if (!map.getStyle() || !map.getStyle().sources.agrimap) return;
    if (map.getLayer('commune-focus')) map.removeLayer('commune-focus');
    if (!commune) return;
    map.addLayer({
      id: 'commune-focus', type: 'line', source: 'agrimap', 'source-layer': 'admin_commune',
      filter: ['all', ['==', ['get', 'code'], commune.code], ['==', ['get', 'boundary_set'], commune.set]],
      paint: { 'line-color': '#ffbf00', 'line-width': 4 },
    });
  }
  function setCommune(c) {
    commune = c;
    communeBar.hidden = !c;
    $('export-menu').hidden = true;
    $('export-button').setAttribute('aria-expanded', 'false');
    if (c) {
      $('commune-name').textContent = c.name;
      const link = $('pack-link');
      link.href = '/api/packs/' + encodeURIComponent(c.code) + '.pmtiles?' + setParam(c.set);
      link.setAttribute('download', 'agrimap-' + c.code + '.pmtiles');
    }
    highlightCommune();
    updateCompareButton();
  }
  $('commune-clear').addEventListener('click', () => setCommune(null));
  $('commune-summary').addEventListener('click', () => commune && openSummary(commune.code, commune.set));
  $('export-button').addEventListener('click', () => {
    const menu = $('export-menu');
    const open = menu.hidden;
    menu.hidden = !open;
    $('export-button').setAttribute('aria-expanded', String(open));
    if (open) {
      renderExportMenu();
      menu.querySelector('a').focus();
    }
  });
  function renderExportMenu() {
    const menu = $('export-menu');
    menu.replaceChildren();
    if (!commune) return;
    menu.setAttribute('aria-label', t('export.all'));
    for (const theme of THEMES) {
      // Every feature of the layer in the commune, public fields, streamed by the server.
      const href = '/api/export/' + theme.id + '.geojson?commune=' + encodeURIComponent(commune.code) + '&' + setParam(commune.set);
      menu.append(el('li', {}, el('a', {
        href, download: theme.id + '-' + commune.code + '.geojson', 'data-layer': theme.id,
        text: LAYER_TITLES[lang][theme.id],
      })));
    }
  }

  // ---- search ----
  const search = $('search');
  const input = $('q');
  const results = $('results');
  let searchTimer = null;
  let searchSeq = 0;
  let found = [];
  function closeResults() {
    results.hidden = true;
    input.setAttribute('aria-expanded', 'false');
  }
  async function runSearch() {
    const q = input.value.trim();
    const seq = ++searchSeq;
    if (!q) { closeResults(); return; }
    let body;
    try {
      body = await getJson('/api/communes?q=' + encodeURIComponent(q) + '&limit=8&' + setParam());
    } catch (e) {
      return;
    }
    if (seq !== searchSeq) return; // a later keystroke already asked again
    // Then the 2025 communes found by a name they had before the reform
    // ("trước đây Phường 5"), each once, after the communes found by name.
    const same = (a, b) => a.code === b.code && a.boundary_set === b.boundary_set;
    const former = (body.former || []).filter((f, i, all) => !body.communes.some((c) => same(c, f.commune))
      && all.findIndex((g) => same(g.commune, f.commune)) === i);
    found = body.communes.concat(former.map((f) => f.commune));
    results.replaceChildren();
    if (found.length === 0) {
      results.append(el('li', { class: 'empty', text: t('search.none') }));
    }
    found.forEach((c, i) => {
      const was = i >= body.communes.length ? former[i - body.communes.length] : null;
      const units = (was ? t('search.former') + ' ' + was.old_name + ' · ' : '') + unitsOf(c);
      const item = el('li', { role: 'option', id: 'result-' + i, 'data-code': c.code, tabindex: '-1' },
        el('strong', { text: c.name }), el('small', { text: units }));
      item.addEventListener('click', () => choose(c));
      results.append(item);
    });
    results.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  }
  // "Huyện Cao Lãnh, Tỉnh Đồng Tháp" (the 2025 set has no districts): what
  // tells the many "Phường 1" apart.
  function unitsOf(c) {
    return [c.district_name, c.province_name].filter(Boolean).join(', ') + (c.boundary_set === '2025' ? ' · 2025' : '');
  }
  function choose(c) {
    closeResults();
    input.value = c.name;
    setCommune({ code: c.code, name: c.name, set: c.boundary_set });
    // The switch names the province the map now lands in.
    const held = provincesHeld.findIndex((p) => p.code === c.province_code && p.boundary_set === c.boundary_set);
    if (held >= 0) provinceSwitch.value = String(held);
    map.fitBounds([[c.bbox[0], c.bbox[1]], [c.bbox[2], c.bbox[3]]], { padding: 40, duration: 800 });
    if (styleName === 'planner') openSummary(c.code, c.boundary_set);
  }
  input.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 250);
  });
  input.addEventListener('keydown', (e) => {
    const options = [...results.querySelectorAll('[role=option]')];
    const current = options.findIndex((o) => o.getAttribute('aria-selected') === 'true');
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (options.length === 0) return;
      const next = (current + (e.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length;
      options.forEach((o, i) => o.setAttribute('aria-selected', String(i === next)));
      input.setAttribute('aria-activedescendant', options[next].id);
    } else if (e.key === 'Escape') {
      closeResults();
    }
  });
  search.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearTimeout(searchTimer);
    const selected = results.querySelector('[aria-selected=true]');
    if (!selected) await runSearch();
    const index = selected ? Number(selected.id.replace('result-', '')) : 0;
    if (found[index]) choose(found[index]);
  });

  // ---- locate me ----
  let here = null;
  $('locate').addEventListener('click', () => {
    if (!('geolocation' in navigator)) { say(t('locate.unsupported')); return; }
    if (!window.isSecureContext) { say(t('locate.insecure')); return; }
    navigator.geolocation.getCurrentPosition((p) => {
      const at = [p.coords.longitude, p.coords.latitude];
      if (!here) here = new maplibregl.Marker({ color: '#0b57d0' });
      here.setLngLat(at).addTo(map);
      here.getElement().setAttribute('aria-label', t('locate.here'));
      map.flyTo({ center: at, zoom: Math.max(map.getZoom(), 15) });
    }, (err) => say(t('locate.failed') + ': ' + err.message), { enableHighAccuracy: true, timeout: 15000 });
  });

  // ---- the bottom sheet ----
  const sheet = $('sheet');
  let sheetReturnFocus = null;
  function openSheet(render) {
    sheetRender = render;
    render();
    if (sheet.hidden) sheetReturnFocus = document.activeElement;
    sheet.hidden = false;
    $('sheet-close').focus({ preventScroll: true });
  }
  function closeSheet() {
    sheet.hidden = true;
    sheetRender = null;
    if (sheetReturnFocus && sheetReturnFocus.focus) sheetReturnFocus.focus();
  }
  $('sheet-close').addEventListener('click', closeSheet);
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    if (!sheet.hidden) closeSheet();
    else if (!layersPanel.hidden) setLayersOpen(false);
  });

  function attributeList(layer, props, fields) {
    const list = el('dl', { class: 'attributes' });
    for (const field of fields) {
      const value = props[field];
      let shown;
      if (field === 'qr_url' && typeof value === 'string' && value) {
        shown = el('a', { href: value, target: '_blank', rel: 'noopener', text: t('open.link') });
      } else {
        shown = document.createTextNode(valueText(layer, field, value));
      }
      const row = el('div', { 'data-field': field }, el('dt', { text: FIELD_LABELS[lang][field] || field }), el('dd', {}, shown));
      if (field === 'alert_state' && value) row.dataset.alert = value;
      list.append(row);
    }
    return list;
  }

  function featureSheet(feature) {
    const layer = feature.sourceLayer;
    const props = feature.properties;
    return () => {
      sheet.dataset.layer = layer;
      $('sheet-title').textContent = LAYER_TITLES[lang][layer] || layer;
      const body = $('sheet-body');
      const first = FIRST_FIELDS[layer] || [];
      const rest = Object.keys(props).filter((f) => !first.includes(f) && !READING_FIELDS.includes(f));
      const fields = [...first.filter((f) => f in props), ...rest];
      body.replaceChildren(attributeList(layer, props, fields));
      if (layer === 'monitoring') body.append(stationReadings(props));
    };
  }

  // ---- a station's readings ----
  // Latest values from the tile, then the last 7 days up to the latest reading as a chart.
  function stationReadings(props) {
    const box = el('section', { class: 'readings', 'aria-label': t('readings.title') });
    box.append(el('h3', { text: t('readings.title') }));
    const latest = el('dl', { class: 'attributes' });
    for (const field of READING_FIELDS) {
      if (props[field] === null || props[field] === undefined) continue;
      latest.append(el('div', { 'data-field': field }, el('dt', { text: FIELD_LABELS[lang][field] }),
        el('dd', { text: number(props[field]) + ' ' + unitText(units[field]) })));
    }
    if (latest.children.length === 0) box.append(el('p', { text: t('readings.none') }));
    else {
      box.append(latest);
      if (props.last_reading_at) {
        box.append(el('p', { class: 'reading-time', text: t('readings.at') + ' ' + dateTime(props.last_reading_at) }));
      }
    }
    const cause = el('p', { class: 'alert-cause', hidden: '' });
    box.append(cause);
    if (props.alert_state === 'watch' || props.alert_state === 'alarm') {
      getJson('/api/alerts').then((body) => {
        const alert = body.alerts.find((a) => a.station_id === props.station_id);
        if (!alert || !alert.cause) return;
        const c = alert.cause;
        cause.textContent = t('alert.cause') + ': ' + parameterLabel(c.parameter) + ' ' +
          number(c.value) + ' ' + unitText(c.unit) + ', ' + (VALUE_LABELS[lang][c.direction] || c.direction) + ' ' +
          t('alert.threshold') + ' ' + number(c.threshold) + ' ' + unitText(c.unit);
        cause.hidden = false;
      }).catch(() => {});
    }
    if (!props.last_reading_at) return box;
    const charts = el('div', { class: 'charts', 'aria-busy': 'true' }, el('p', { text: t('readings.loading') }));
    box.append(el('h3', { text: t('readings.chart') }), charts);
    const to = new Date(props.last_reading_at);
    const from = new Date(to.getTime() - 7 * 24 * 3600 * 1000);
    const url = '/api/stations/' + encodeURIComponent(props.station_id) + '/readings?step=hour&from=' +
      from.toISOString().replace(/\.\d+Z$/, 'Z') + '&to=' + to.toISOString().replace(/\.\d+Z$/, 'Z');
    getJson(url).then((body) => {
      const byParameter = new Map();
      for (const point of body.series) {
        if (!byParameter.has(point.parameter)) byParameter.set(point.parameter, []);
        byParameter.get(point.parameter).push(point);
      }
      charts.replaceChildren();
      charts.removeAttribute('aria-busy');
      if (byParameter.size === 0) charts.append(el('p', { text: t('readings.none') }));
      for (const [parameter, points] of byParameter) charts.append(chart(parameter, points, from, to));
    }).catch((e) => {
      charts.replaceChildren(el('p', { text: t('error.data') + ': ' + e.message }));
    });
    return box;
  }

  // One parameter's hourly means as an inline SVG line, with its range and unit.
  function chart(parameter, points, from, to) {
    const W = 300;
    const H = 64;
    const values = points.map((p) => p.mean);
    const min = Math.min(...values);
    const max = Math.max(...values);
    const span = max - min || 1;
    const x = (time) => ((new Date(time) - from) / (to - from)) * W;
    const y = (v) => H - 4 - ((v - min) / span) * (H - 8);
    const path = points.map((p, i) => (i ? 'L' : 'M') + x(p.time).toFixed(1) + ' ' + y(p.mean).toFixed(1)).join(' ');
    const unit = unitText(points[0].unit);
    const name = parameterLabel(parameter);
    const summary = name + ': ' + number(min) + '–' + number(max) + ' ' + unit;
    // The HTML parser puts <svg> in the SVG namespace; only numbers go into the markup.
    const holder = document.createElement('div');
    holder.innerHTML = '<svg viewBox="0 0 ' + W + ' ' + H + '" role="img" preserveAspectRatio="none">' +
      '<path class="chart-line" vector-effect="non-scaling-stroke" d="' + path + '"></path></svg>';
    const svg = holder.firstChild;
    svg.setAttribute('aria-label', summary);
    return el('figure', { class: 'chart', 'data-parameter': parameter }, svg,
      el('figcaption', {}, el('span', { text: name }), el('span', { text: number(min) + ' – ' + number(max) + ' ' + unit })));
  }

  // ---- a commune's summary ----
  function openSummary(code, set) {
    let data = null;
    let failed = null;
    const render = () => {
      sheet.dataset.layer = 'commune-summary';
      $('sheet-title').textContent = data ? data.commune.name : t('summary.title');
      const body = $('sheet-body');
      if (failed) { body.replaceChildren(el('p', { text: t('error.data') + ': ' + failed })); return; }
      if (!data) { body.replaceChildren(el('p', { text: t('summary.loading') })); return; }
      body.replaceChildren(summaryContent(data));
    };
    openSheet(render);
    getJson('/api/communes/' + encodeURIComponent(code) + '/summary?' + setParam(set)).then((d) => { data = d; })
      .catch((e) => { failed = e.message; })
      .finally(() => { if (sheetRender === render) render(); });
  }
  function classTable(rows, layer, field, unit) {
    if (!rows || rows.length === 0) return el('p', { class: 'muted', text: t('summary.none') });
    const list = el('dl', { class: 'attributes' });
    for (const row of rows) {
      list.append(el('div', { 'data-class': row.class },
        el('dt', { text: valueText(layer, field, row.class) }),
        el('dd', { text: unit === 'ha' ? number(row.ha, 1) + ' ha' : number(row.features, 0) })));
    }
    return list;
  }
  function summaryContent(d) {
    const c = d.commune;
    const box = el('div', { class: 'summary', 'data-code': c.code });
    box.append(attributeList('admin_commune', {
      district: c.district.name, area_ha: c.area_ha, ntm_status: c.ntm_status, ntm_year: c.ntm_year,
    }, ['area_ha', 'ntm_status', 'ntm_year']));
    const section = (key, total, ...content) => el('section', { 'data-section': key },
      el('h3', {}, document.createTextNode(t('summary.' + key)), total ? el('span', { class: 'total', text: total }) : null),
      ...content);
    box.append(section('crop', number(d.crop.total_ha, 1) + ' ha', classTable(d.crop.by_crop_type, 'crop', 'crop_type', 'ha')));
    box.append(section('aquaculture', number(Math.max(0, d.aquaculture.water_surface_ha), 1) + ' ha',
      classTable(d.aquaculture.by_species, 'aquaculture', 'species', 'ha')));
    box.append(section('growing', d.growing_areas.codes + ' ' + t('summary.codes'),
      classTable(d.growing_areas.by_status, 'growing_area', 'status', 'count')));
    const ocop = el('ul', { class: 'plain' });
    for (const p of d.ocop.list || []) {
      ocop.append(el('li', { text: p.name + ' — ' + '★'.repeat(p.stars || 0) }));
    }
    box.append(section('ocop', d.ocop.products + ' ' + t('summary.products'),
      d.ocop.products ? ocop : el('p', { class: 'muted', text: t('summary.none') })));
    if (d.irrigation) {
      box.append(section('irrigation', d.irrigation.works + ' ' + t('summary.works'),
        classTable(d.irrigation.works_by_kind, 'irrigation_works', 'kind', 'count'),
        classTable(d.irrigation.by_irrigation, 'irrigated_areas', 'irrigation', 'ha')));
      box.append(section('forestry', number(d.forestry.total_ha, 1) + ' ha',
        classTable(d.forestry.by_forest_type, 'forest_plots', 'forest_type', 'ha')));
      box.append(section('livestock', d.livestock.farms + ' ' + t('summary.farms'),
        classTable((d.livestock.by_species || []).map((r) => ({ class: r.class, features: r.farms })),
          'livestock_farms', 'species', 'count')));
    }
    const stations = el('ul', { class: 'plain' });
    for (const s of d.stations || []) {
      stations.append(el('li', { 'data-alert': s.alert_state || '' },
        document.createTextNode(s.name + ' — ' + valueText('monitoring', 'alert_state', s.alert_state))));
    }
    box.append(section('stations', String((d.stations || []).length),
      (d.stations || []).length ? stations : el('p', { class: 'muted', text: t('summary.none') })));
    box.append(section('reports', null, el('p', { class: 'reports' }, ...reportLinks(c.code, c.boundary_set),
      ...reportLinks(c.province.code, c.boundary_set, 'province'))));
    // The NTM scorecard is the planners' (and the NTM office's) working view.
    if (styleName === 'planner') box.append(ntmSection(c));
    return box;
  }

  // ---- communes side by side (planner mode) ----
  // Up to four communes, each on a small map, with the tables of
  // /api/compare below. The maps move together: the same zoom, and the same
  // offset from each commune's own centre, so each keeps showing its commune.
  // The URL carries the communes (#compare=33030,33031@2025), so a view can
  // be shared; a code may name its boundary set, so the sets can be mixed.
  const COMPARE_MAX = 4;
  const compareView = $('compare');
  let compareData = null;
  let compareMaps = [];
  let compareFailed = null;
  window.agrimap.compareMaps = compareMaps;
  // The day the change is counted from (#compare=…&since=2025-01-01), if any.
  let compareSince = (/[#&]since=(\d{4}-\d{2}-\d{2})/.exec(initialHash) || [])[1] || '';
  const compareHash = () => '#compare=' + compared.map((c) => c.code + (c.set ? '@' + c.set : '')).join(',') +
    (compareSince ? '&since=' + compareSince : '');
  function parseCompareHash(hash) {
    const m = /^#compare=([^&]*)/.exec(hash || '');
    if (!m) return null;
    return decodeURIComponent(m[1]).split(',').filter(Boolean).slice(0, COMPARE_MAX).map((item) => {
      const [code, set] = item.split('@');
      return { code, set: set || null };
    });
  }
  // The main map writes its position into the hash (throttled) after it
  // moves; while the view is open the hash names the communes instead.
  function writeCompareHash() {
    if (!compareView.hidden) window.history.replaceState(null, '', compareHash());
  }
  map.on('moveend', () => { if (!compareView.hidden) setTimeout(writeCompareHash, 400); });

  // Called from setCommune, setMode and applyLanguage, which run before this part of the script does.
  function updateCompareButton() {
    const button = $('compare-add');
    button.hidden = styleName !== 'planner' || !commune;
    button.textContent = t('compare.add') + (compared.length ? ' (' + compared.length + ')' : '');
  }
  $('compare-add').addEventListener('click', () => {
    if (!commune) return;
    if (!compared.some((c) => c.code === commune.code && (c.set || commune.set) === commune.set)) {
      if (compared.length >= COMPARE_MAX) { say(t('compare.full')); return; }
      compared.push({ code: commune.code, set: commune.set });
    }
    if (compared.length < 2) { say(t('compare.pick')); updateCompareButton(); return; }
    openCompare(compared);
  });

  function closeCompare() {
    compareView.hidden = true;
    for (const m of compareMaps) m.remove();
    compareMaps.length = 0;
    compareData = null;
    const c = map.getCenter();
    window.history.replaceState(null, '', '#' + [map.getZoom().toFixed(2), c.lat.toFixed(5), c.lng.toFixed(5)].join('/'));
    updateCompareButton();
  }
  $('compare-close').addEventListener('click', closeCompare);
  // Counting the change since a day reads the layers as they stood then.
  const sinceInput = $('compare-since');
  sinceInput.value = compareSince;
  sinceInput.max = new Date().toISOString().slice(0, 10);
  sinceInput.addEventListener('change', () => {
    compareSince = sinceInput.value;
    if (compared.length >= 2) openCompare(compared);
  });

  function openCompare(list) {
    compared = list.slice(0, COMPARE_MAX);
    if (styleName !== 'planner') setMode('planner');
    closeSheet();
    compareView.hidden = false;
    compareData = null;
    compareFailed = null;
    writeCompareHash();
    updateCompareButton();
    renderCompare();
    const query = 'communes=' + encodeURIComponent(compared.map((c) => c.code + (c.set ? '@' + c.set : '')).join(',')) +
      (compareSince ? '&since=' + compareSince : '');
    const asked = compareHash();
    getJson('/api/compare?' + query).then((d) => {
      if (asked !== compareHash() || compareView.hidden) return;
      compareData = d;
      // Each commune's set as the server found it, so the shared URL is exact.
      compared = d.communes.map((c) => ({ code: c.code, set: c.boundary_set }));
      writeCompareHash();
      updateCompareButton();
    }).catch((e) => { compareFailed = e.message; })
      .finally(() => { if (asked === compareHash() || compareData) renderCompare(); });
  }

  function renderCompare() {
    const body = $('compare-body');
    const maps = $('compare-maps');
    if (compareFailed) {
      maps.replaceChildren();
      body.replaceChildren(el('p', { role: 'alert', text: t('error.data') + ': ' + compareFailed }));
      return;
    }
    if (!compareData) {
      maps.replaceChildren();
      body.replaceChildren(el('p', { text: t('summary.loading') }));
      return;
    }
    if (compareMaps.length === 0) renderCompareMaps();
    body.replaceChildren(compareTable(compareData));
  }

  function renderCompareMaps() {
    const box = $('compare-maps');
    box.replaceChildren();
    const homes = [];
    let syncing = false;
    compareData.communes.forEach((c, i) => {
      const canvas = el('div', { class: 'compare-canvas', id: 'compare-map-' + i, 'data-code': c.code });
      const remove = el('button', { class: 'close', type: 'button', 'aria-label': t('compare.remove'), text: '×' });
      remove.addEventListener('click', () => {
        const rest = compared.filter((_, j) => j !== i);
        for (const m of compareMaps) m.remove();
        compareMaps.length = 0;
        if (rest.length < 2) { compared = rest; closeCompare(); } else openCompare(rest);
      });
      box.append(el('figure', { class: 'compare-map' }, canvas,
        el('figcaption', {}, el('span', { text: c.name }), remove)));
      const b = c.bbox || [0, 0, 0, 0];
      const m = new maplibregl.Map({
        container: canvas,
        style: '/styles/farmer.json?boundary_set=' + encodeURIComponent(c.boundary_set),
        bounds: [[b[0], b[1]], [b[2], b[3]]],
        fitBoundsOptions: { padding: 12 },
        attributionControl: false,
        dragRotate: false,
        pitchWithRotate: false,
      });
      m.touchZoomRotate.disableRotation();
      m.on('load', () => {
        m.addLayer({
          id: 'compare-focus', type: 'line', source: 'agrimap', 'source-layer': 'admin_commune',
          filter: ['all', ['==', ['get', 'code'], c.code], ['==', ['get', 'boundary_set'], c.boundary_set]],
          paint: { 'line-color': '#ffbf00', 'line-width': 3 },
        });
      });
      m.on('idle', () => { canvas.dataset.state = 'idle'; });
      m.on('dataloading', () => { canvas.dataset.state = 'loading'; });
      homes.push(m.getCenter());
      compareMaps.push(m);
    });
    // One scale for all: the closest zoom that still shows every commune whole.
    const zoom = Math.min(...compareMaps.map((m) => m.getZoom()));
    compareMaps.forEach((m, i) => m.jumpTo({ center: homes[i], zoom }));
    compareMaps.forEach((m, i) => {
      m.on('move', () => {
        if (syncing) return;
        syncing = true;
        const here = m.getCenter();
        const dx = here.lng - homes[i].lng;
        const dy = here.lat - homes[i].lat;
        compareMaps.forEach((other, j) => {
          if (j !== i) other.jumpTo({ center: [homes[j].lng + dx, homes[j].lat + dy], zoom: m.getZoom() });
        });
        syncing = false;
      });
    });
  }

  function compareTable(d) {
    const communes = d.communes;
    const table = el('table', { class: 'compare-table' });
    const head = el('tr', {}, el('th', { scope: 'col' }));
    for (const c of communes) {
      head.append(el('th', { scope: 'col', 'data-code': c.code }, el('span', { text: c.name }),
        el('small', { text: c.code + ' · ' + (c.boundary_set === '2025' ? t('compare.set.new') : t('compare.set.pre')) })));
    }
    table.append(el('thead', {}, head));
    const body = el('tbody');
    const group = (key, title) => body.append(el('tr', { class: 'group', 'data-group': key },
      el('th', { colspan: String(communes.length + 1), scope: 'colgroup', text: title })));
    const row = (key, label, cells, cls) => {
      const tr = el('tr', { 'data-row': key, class: cls || '' }, el('th', { scope: 'row', text: label }));
      cells.forEach((v) => tr.append(el('td', { text: v === null || v === undefined ? '—' : String(v) })));
      body.append(tr);
    };
    const ha = (v) => (v === null || v === undefined ? null : number(v, 2));
    group('overview', t('compare.overview'));
    row('province', t('compare.province'), communes.map((c) => [c.district.name, c.province.name].filter(Boolean).join(', ')));
    row('area', t('compare.area'), communes.map((c) => ha(c.area_ha)));
    row('population', t('compare.population'), communes.map((c) => (c.population ? number(c.population, 0) : null)));
    row('ntm', t('compare.ntm'), communes.map((c) => (lang === 'vi' ? c.ntm.status_vi : c.ntm.status_en) +
      (c.ntm.year ? ' (' + c.ntm.year + ')' : '')));
    for (const layer of d.layers) {
      const first = communes[0].layers[layer];
      const unit = first.unit === 'ha' ? ' (ha)' : '';
      group(layer, (LAYER_TITLES[lang][layer] || layer) + unit);
      const classes = [];
      const labels = {};
      for (const c of communes) {
        for (const r of c.layers[layer].rows) {
          if (!classes.includes(r.class)) classes.push(r.class);
          labels[r.class] = lang === 'vi' ? r.label_vi : r.label_en;
        }
      }
      const value = (f) => (first.unit === 'ha' ? number(f, 2) : number(f, 0));
      // With a day to count from: each figure followed by its change since then.
      const since = (c, cl) => {
        const ch = c.change && c.change[layer];
        if (!ch) return '';
        const v = cl === null ? ch.total : ((ch.rows.find((x) => x.class === cl) || {}).change || 0);
        return ' (' + (v >= 0 ? '+' : '−') + value(Math.abs(v)) + ')';
      };
      for (const cl of classes) {
        row(layer + ':' + cl, labels[cl], communes.map((c) => {
          const r = c.layers[layer].rows.find((x) => x.class === cl);
          return (r ? value(r.value) : value(0)) + since(c, cl);
        }));
      }
      row(layer + ':total', t('compare.total'), communes.map((c) => value(c.layers[layer].total) + since(c, null)), 'total');
    }
    group('ocop-products', LAYER_TITLES[lang].ocop);
    row('ocop', t('compare.products'), communes.map((c) => c.ocop.products));
    for (const stars of [5, 4, 3]) {
      row('ocop:' + stars, stars + ' ' + t('compare.stars'), communes.map((c) => {
        const r = (c.ocop.by_stars || []).find((x) => String(x.class) === String(stars));
        return r ? r.products : 0;
      }));
    }
    group('growing-areas', LAYER_TITLES[lang].growing_area);
    row('growing:codes', t('compare.codes'), communes.map((c) => c.growing_areas.codes));
    row('growing:ha', t('compare.growing_ha'), communes.map((c) => ha(c.growing_areas.area_ha)));
    for (const st of ['active', 'suspended', 'revoked']) {
      row('growing:' + st, valueText('growing_area', 'status', st), communes.map((c) => {
        const r = (c.growing_areas.by_status || []).find((x) => x.class === st);
        return r ? r.features : 0;
      }));
    }
    group('stations', LAYER_TITLES[lang].monitoring);
    row('stations', t('compare.stations'), communes.map((c) => c.stations.count));
    for (const st of ['alarm', 'watch', 'silent', 'ok']) {
      row('stations:' + st, valueText('monitoring', 'alert_state', st), communes.map((c) => c.stations.by_alert_state[st] || 0),
        st === 'alarm' ? 'alarm' : '');
    }
    group('reports', t('summary.reports'));
    const links = el('tr', { 'data-row': 'reports' }, el('th', { scope: 'row', text: t('summary.reports') }));
    for (const c of communes) links.append(el('td', {}, ...reportLinks(c.code, c.boundary_set)));
    body.append(links);
    table.append(body);
    return el('div', { class: 'compare-scroll' }, table);
  }

  // A commune's (or a province's) reports: the workbook, and the printable
  // page in a tab of its own.
  function reportLinks(code, set, level = 'commune') {
    const base = '/api/reports/' + level + '/' + encodeURIComponent(code);
    const query = '?boundary_set=' + encodeURIComponent(set || shownSet || '');
    const key = level === 'province' ? 'report.province.' : 'report.';
    return [
      el('a', { class: 'button', href: base + '.xlsx' + query, download: 'agrimap-' + level + '-' + code + '.xlsx',
        'data-report': 'xlsx', 'data-level': level, text: t(key + 'xlsx') }),
      el('a', { class: 'button', href: base + '.html' + query, target: '_blank', rel: 'noopener',
        'data-report': 'html', 'data-level': level, text: t(key + 'print') }),
    ];
  }

  window.addEventListener('hashchange', () => {
    const asked = parseCompareHash(window.location.hash);
    if (asked && asked.length >= 2 && compareHash() !== window.location.hash) openCompare(asked);
  });
  {
    const asked = parseCompareHash(initialHash);
    if (asked && asked.length >= 2) openCompare(asked);
  }

  // ---- new rural development (NTM): a commune's scorecard, for planners ----
  // The scorecard and its moves need a token (planner, editor or admin),
  // kept for this tab only; editors enter values and submit, planners
  // appraise or return, admins recognise or revoke, each from here.
  const TOKEN_KEY = 'agrimap.token';
  const token = () => sessionStorage.getItem(TOKEN_KEY) || '';
  async function withToken(method, url, body) {
    const headers = { authorization: 'Bearer ' + token() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await r.json().catch(() => null);
    if (!r.ok) throw new Error((data && data.error && data.error.message) || r.status + ' ' + r.statusText);
    return data;
  }
  let ntmYear = null;
  // The year assessed: this year, or the last year a complete standard set covers.
  async function ntmDefaultYear() {
    if (ntmYear) return ntmYear;
    const now = new Date().getFullYear();
    let year = null;
    for (const s of (await getJson('/api/ntm/sets')).sets) {
      if (s.complete && s.level === 'standard' && s.period.from <= now) year = Math.max(year || 0, Math.min(now, s.period.to));
    }
    ntmYear = year || now;
    return ntmYear;
  }
  function ntmValue(v, unit) {
    if (v === null || v === undefined) return '—';
    if (v === true) return t('ntm.pass');
    if (v === false) return t('ntm.fail');
    return number(v) + (unit === 'percent' ? ' %' : '');
  }
  function tokenForm(reload) {
    const input = el('input', { type: 'password', id: 'ntm-token', autocomplete: 'off', 'aria-label': t('ntm.token') });
    const use = el('button', { type: 'button', id: 'ntm-token-use', text: t('ntm.token.use') });
    use.addEventListener('click', () => { sessionStorage.setItem(TOKEN_KEY, input.value.trim()); reload(); });
    return el('div', { class: 'ntm-token' }, el('label', { for: 'ntm-token', text: t('ntm.token') }), input, use);
  }
  function ntmSection(c) {
    const body = el('div', { class: 'ntm' });
    const section = el('section', { 'data-section': 'ntm' }, el('h3', { text: t('summary.ntm') }), body);
    const load = async () => {
      if (!token()) { body.replaceChildren(tokenForm(load)); return; }
      body.replaceChildren(el('p', { class: 'muted', text: t('summary.loading') }));
      try {
        const year = await ntmDefaultYear();
        const card = await withToken('GET', '/api/ntm/scorecards/' + encodeURIComponent(c.code) + '?year=' + year + '&' + setParam(c.boundary_set));
        body.replaceChildren(...scorecardView(card, load));
      } catch (e) {
        body.replaceChildren(el('p', { class: 'error', text: t('error.data') + ': ' + e.message }), tokenForm(load));
      }
    };
    load();
    return section;
  }
  function scorecardView(card, reload) {
    const head = el('p', {
      class: 'ntm-head', 'data-state': card.dossier.state,
      text: card.criteria_met + '/' + card.criteria_total + ' ' + t('ntm.criteria_met') + ' · ' + card.year
        + ' · ' + t('ntm.dossier') + ': ' + t('ntm.state.' + card.dossier.state),
    });
    const actions = el('div', { class: 'ntm-actions' });
    for (const to of card.dossier.next) {
      const b = el('button', { type: 'button', 'data-to': to, text: t('ntm.move.' + to) });
      b.addEventListener('click', () => moveDossier(card, to, reload));
      actions.append(b);
    }
    const editable = card.dossier.next.includes('submitted');
    const list = el('div', { class: 'ntm-criteria' });
    for (const cr of card.criteria) {
      const details = el('details', { 'data-criterion': cr.id, 'data-verdict': cr.verdict },
        el('summary', {}, el('span', { class: 'verdict', text: t('ntm.verdict.' + cr.verdict) }),
          document.createTextNode(' ' + cr.id + '. ' + (lang === 'vi' ? cr.name_vi : cr.name_en))));
      for (const i of cr.indicators) {
        const row = el('div', { class: 'ntm-indicator', 'data-indicator': i.id, 'data-verdict': i.verdict },
          el('p', { text: i.id + ' ' + (lang === 'vi' ? i.text_vi : i.text_en) }),
          el('p', { class: 'muted', text: t('ntm.value') + ': ' + ntmValue(i.value, i.unit) + ' · ' + t('ntm.target') + ': '
            + ntmValue(i.target, i.unit) + ' · ' + t('ntm.verdict.' + i.verdict) }));
        for (const ev of (i.computed && i.computed.evidence) || []) {
          const show = el('button', { type: 'button', class: 'ntm-evidence', 'data-layer': ev.layer,
            text: (lang === 'vi' ? ev.label_vi : ev.label_en) + ': ' + number(ev.figure) + ' ' + ev.unit });
          show.addEventListener('click', () => {
            if (ev.bbox) map.fitBounds([[ev.bbox[0], ev.bbox[1]], [ev.bbox[2], ev.bbox[3]]], { padding: 60, maxZoom: 16, duration: 0 });
          });
          row.append(show);
        }
        if (editable) {
          const enter = el('button', { type: 'button', class: 'ntm-enter', text: t('ntm.enter') });
          enter.addEventListener('click', () => enterValue(card, i, reload));
          row.append(enter);
        }
        details.append(row);
      }
      list.append(details);
    }
    return [head, actions, list];
  }
  async function enterValue(card, i, reload) {
    const answer = window.prompt(t(i.unit === 'pass' ? 'ntm.enter.pass' : 'ntm.enter.number') + ' (' + i.id + ')');
    if (answer === null) return;
    const text = answer.trim().toLowerCase();
    const value = i.unit === 'pass' ? ['1', 'true', 'yes', 'có', 'đạt', 'dat'].includes(text) : Number(text.replace(',', '.'));
    try {
      await withToken('POST', '/api/ntm/scorecards/' + encodeURIComponent(card.commune.code) + '/indicators/'
        + encodeURIComponent(i.id) + '?year=' + card.year + '&' + setParam(card.commune.boundary_set), { value });
      reload();
    } catch (e) { say(e.message); }
  }
  async function moveDossier(card, to, reload) {
    const body = { to };
    const ask = (key) => { const a = window.prompt(t(key)); if (a === null) throw new Error('cancelled'); return a; };
    try {
      if (to === 'returned' || to === 'revoked') body.reasons = ask('ntm.ask.reasons');
      if (to === 'recognised' || to === 'revoked') body.decision_number = ask('ntm.ask.decision');
      if (to === 'recognised') { body.decision_date = ask('ntm.ask.date'); body.level = 'standard'; }
      if (to === 'appraised') {
        body.verdicts = {};
        for (const cr of card.criteria) for (const i of cr.indicators) body.verdicts[i.id] = { verdict: i.verdict === 'met' ? 'met' : 'not_met' };
      }
    } catch (e) { return; }
    try {
      await withToken('POST', '/api/ntm/dossiers/' + encodeURIComponent(card.commune.code) + '/' + card.year
        + '/transitions?' + setParam(card.commune.boundary_set), body);
      reload();
    } catch (e) { say(e.message); }
  }

  // ---- taps ----
  map.on('click', (e) => tapAt(e.point));
  // From the keyboard: Enter or Space on the focused map asks about what is under its centre
  // (marked by a cross while the map has the focus); the arrow keys move the map.
  map.getCanvas().addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    const canvas = map.getCanvas();
    tapAt(new maplibregl.Point(canvas.clientWidth / 2, canvas.clientHeight / 2));
  });
  function tapAt(point) {
    const r = 10; // a fingertip, in CSS pixels
    const box = [[point.x - r, point.y - r], [point.x + r, point.y + r]];
    const rank = (f) => {
      const i = PRIORITY.indexOf(f.sourceLayer);
      return i < 0 ? PRIORITY.length : i;
    };
    const features = map.queryRenderedFeatures(box).filter((f) => f.source === 'agrimap');
    if (features.length === 0) { closeSheet(); return; }
    // Stable sort: among equals, the topmost rendered feature stays first.
    features.sort((a, b) => rank(a) - rank(b));
    const top = features[0];
    const isTheme = THEMES.some((th) => th.id === top.sourceLayer);
    const inCommune = features.find((f) => f.sourceLayer === 'admin_commune');
    const here = inCommune && inCommune.properties;
    if (here) setCommune({ code: here.code, name: here.name, set: here.boundary_set });
    else if (top.properties.commune_code) focusCommune(top.properties.commune_code, top.properties.boundary_set);
    // A planner asks about the commune unless a thematic feature was tapped.
    if (here && styleName === 'planner' && !isTheme) openSummary(here.code, here.boundary_set);
    else openSheet(featureSheet({ sourceLayer: top.sourceLayer, properties: top.properties }));
  }

  // Puts a commune in focus by its code, its name from the server.
  const communeNames = new Map();
  function focusCommune(code, set) {
    if (commune && commune.code === code && commune.set === set) return;
    const known = communeNames.get(set + ' ' + code);
    if (known) { setCommune({ code, name: known, set }); return; }
    getJson('/api/communes/' + encodeURIComponent(code) + '?' + setParam(set)).then((c) => {
      communeNames.set(set + ' ' + code, c.name);
      setCommune({ code, name: c.name, set: c.boundary_set });
    }).catch(() => {});
  }
  // A pointer over something tappable says so on a laptop.
  map.on('mousemove', (e) => {
    const any = map.queryRenderedFeatures(e.point).some((f) => f.source === 'agrimap' && PRIORITY.indexOf(f.sourceLayer) < 5);
    map.getCanvas().style.cursor = any ? 'pointer' : '';
  });

  // ---- offline packs ----
  // A pack is one commune's tiles in a PMTiles file (`/api/packs/{code}.pmtiles`).
  // Opened from the device, it replaces the server's tiles, so the map works
  // with no network; the service worker keeps the page itself.
  function loadPmtilesReader() {
    if (window.pmtiles) return Promise.resolve(window.pmtiles);
    return new Promise((resolve, reject) => {
      const script = el('script', { src: '/static/pmtiles.js' });
      script.onload = () => resolve(window.pmtiles);
      script.onerror = () => reject(new Error('pmtiles.js'));
      document.head.append(script);
    });
  }
  let pmtilesProtocol = null;
  // Draws the map from a PMTiles archive: a pack from the device (a File) or
  // a province's archive published on a static server (a URL; the reader
  // fetches only the byte ranges it needs). `fit`: move the map to the archive.
  async function openArchive(source, label, fit) {
    const pmtiles = await loadPmtilesReader();
    if (!pmtilesProtocol) {
      pmtilesProtocol = new pmtiles.Protocol();
      maplibregl.addProtocol('pmtiles', pmtilesProtocol.tile);
    }
    const archive = new pmtiles.PMTiles(typeof source === 'string' ? source : new pmtiles.FileSource(source));
    const header = await archive.getHeader();
    pmtilesProtocol.add(archive);
    // The farmer style (kept by the service worker), its tiles from the archive.
    const response = await fetch('/styles/farmer.json');
    const style = await response.json();
    style.sources.agrimap = { type: 'vector', url: 'pmtiles://' + archive.source.getKey() };
    packOpen = true;
    offline.hidden = true;
    styleName = 'farmer';
    modeButton.setAttribute('aria-pressed', 'false');
    modeButton.disabled = true; // the planner's figures come from the server
    $('metric-choice').hidden = true;
    $('province').hidden = true;
    map.setStyle(style, { diff: false });
    if (fit) map.fitBounds([[header.minLon, header.minLat], [header.maxLon, header.maxLat]], { padding: 20, duration: 0 });
    mapElement.dataset.source = typeof source === 'string' ? 'archive' : 'pack';
    say(t('pack.opened') + ': ' + label);
  }
  const openPack = (file) => openArchive(file, file.name, true);
  // `?pmtiles=URL`: the page drawn from a province's published archive
  // (`agrimap pack --province`), at the position in the address if it has one.
  if (archiveUrl) {
    openArchive(new URL(archiveUrl, window.location.href).href, archiveUrl, !/^#\d/.test(initialHash))
      .catch((err) => say(t('pack.failed') + ': ' + err.message));
  }
  $('pack-file').addEventListener('change', (e) => {
    const file = e.target.files && e.target.files[0];
    if (!file) return;
    setLayersOpen(false);
    openPack(file).catch((err) => say(t('pack.failed') + ': ' + err.message));
  });
  // Keep the page for offline use once the first map is on screen, so that
  // caching it never competes with the first view on a weak signal.
  if ('serviceWorker' in navigator && window.isSecureContext) {
    map.once('idle', () => {
      navigator.serviceWorker.register('/sw.js').catch(() => {});
    });
  }

  // ---- language ----
  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = (lang === 'vi' ? 'agrimap — Bản đồ nông nghiệp' : 'agrimap — Agricultural map') + provinceTitle();
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    $('layers-title').textContent = t('layers.title') + provinceTitle();
    renderProvinceSwitch();
    for (const node of document.querySelectorAll('[data-i18n-placeholder]')) {
      node.placeholder = t(node.dataset.i18nPlaceholder);
    }
    for (const node of document.querySelectorAll('[data-i18n-aria-label]')) {
      node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
    }
    const other = lang === 'vi' ? 'en' : 'vi';
    const button = $('lang');
    button.textContent = other.toUpperCase();
    button.lang = other;
    button.setAttribute('aria-label', other === 'en' ? 'English' : 'Tiếng Việt');
    $('retry').textContent = t('retry');
    renderMetrics();
    if (map.getStyle()) { renderThemes(); renderChoroplethLegend(); }
    renderExportMenu();
    if (sheetRender && !sheet.hidden) sheetRender();
    updateCompareButton();
    if (!$('compare').hidden) renderCompare();
  }
  // ---- provinces held ----
  // " — Thành phố Cần Thơ": the provinces of the set on the map, named in
  // the title and over the legend.
  function provinceTitle() {
    const shown = provincesHeld.filter((p) => !shownSet || p.boundary_set === shownSet);
    const names = [...new Set(shown.map((p) => p.name || p.code))];
    return names.length ? ' — ' + names.join(', ') : '';
  }
  const provinceSwitch = $('province');
  function renderProvinceSwitch() {
    const chosen = provinceSwitch.value;
    provinceSwitch.replaceChildren(...provincesHeld.map((p, i) => el('option', {
      value: String(i),
      text: (p.name || p.code) + ' · ' + (p.boundary_set === '2025' ? '2025' : t('province.before')),
    })));
    if (chosen) provinceSwitch.value = chosen;
    // Drawn from an archive or a pack, the map is of that one place.
    provinceSwitch.hidden = provincesHeld.length < 2 || packOpen;
  }
  provinceSwitch.addEventListener('change', () => {
    const p = provincesHeld[Number(provinceSwitch.value)];
    if (!p) return;
    if (p.boundary_set !== shownSet) {
      chosenSet = p.boundary_set;
      setCommune(null);
      map.setStyle(styleUrl(), { diff: false });
    }
    map.fitBounds([[p.bbox[0], p.bbox[1]], [p.bbox[2], p.bbox[3]]], { padding: 20, duration: 600 });
  });
  map.on('styledata', () => {
    const set = (map.getStyle().metadata || {})['agrimap:boundary_set'];
    if (set && set !== shownSet) { shownSet = set; applyLanguage(); }
  });
  getJson('/api/codes').then((body) => {
    for (const list of body.lists) for (const c of list.codes) CODE_LABELS[c.code] = c;
    applyLanguage();
  }).catch(() => {});
  getJson('/api/provinces').then((body) => {
    provincesHeld = body.provinces;
    // Province 99 is the synthetic demo (real codes stop at 96): only its data is said to be made up.
    $('synthetic').hidden = !provincesHeld.some((p) => p.code === '99');
    applyLanguage();
  }).catch(() => {});

  // New alerts, live (server-sent events): a count on a badge; a tap shows
  // the station of the latest and clears the count. EventSource reconnects
  // by itself and resumes after the last event it saw (Last-Event-ID).
  const badge = $('alerts-badge');
  let unseen = [];
  const showBadge = () => {
    badge.hidden = unseen.length === 0;
    const last = unseen[unseen.length - 1];
    badge.textContent = '⚠ ' + unseen.length;
    badge.dataset.count = String(unseen.length);
    if (last) {
      badge.title = unseen.length + ' ' + t('alerts.new') + ': ' + last.station_id + ' — ' +
        valueText('monitoring', 'alert_state', last.to);
      badge.setAttribute('aria-label', badge.title);
    }
  };
  if (window.EventSource) {
    const feed = new EventSource('/api/alerts/stream');
    window.agrimap.alertFeed = feed;
    feed.addEventListener('alert', (e) => {
      const event = JSON.parse(e.data);
      if (event.to === 'ok') return;
      unseen.push(event);
      showBadge();
    });
  }
  badge.addEventListener('click', () => {
    const last = unseen[unseen.length - 1];
    unseen = [];
    showBadge();
    if (!last) return;
    getJson('/api/alerts').then((body) => {
      const station = body.alerts.find((a) => a.station_id === last.station_id);
      if (station && station.location) map.flyTo({ center: station.location, zoom: Math.max(map.getZoom(), 13) });
    }).catch(() => {});
  });

  $('lang').addEventListener('click', () => {
    lang = lang === 'vi' ? 'en' : 'vi';
    localStorage.setItem('agrimap.lang', lang);
    applyLanguage();
  });
  applyLanguage();
})();
