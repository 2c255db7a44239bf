// The planner's statistics panel: build a question of /api/stats (layer,
// filter from the code lists' pick-lists, up to two class fields, metrics,
// per), read its table, see it on the map as a choropleth made from the same
// answer, and take it home as Excel.
//
// Loaded by the page only in planner mode, so farmers never download it. It
// keeps to itself: its own button and panel, the page's language from
// <html lang>, and the map from window.agrimap.map.
'use strict';

(function () {
  const map = window.agrimap && window.agrimap.map;
  if (!map || document.getElementById('stats-panel')) return;

  const TEXT = {
    vi: {
      button: 'Thống kê', title: 'Thống kê theo xã', layer: 'Lớp dữ liệu', filter: 'Lọc theo',
      any: '(tất cả)', from: 'Từ ngày', to: 'Đến ngày', classes: 'Chia theo', none: '(không)',
      metrics: 'Chỉ tiêu', per: 'Tính trên', run: 'Xem', excel: 'Tải Excel', csv: 'Tải CSV',
      code: 'Mã', name: 'Tên', features: 'Số đối tượng', total: 'Tổng cộng', rows: 'dòng',
      shown: 'Bản đồ tô màu theo', error: 'Không thống kê được', close: 'Đóng',
      'metric.area': 'Diện tích', 'metric.count': 'Số lượng', 'metric.sum': 'Tổng',
      'per.commune_area': 'diện tích tự nhiên', 'per.farmland': 'diện tích sản xuất nông nghiệp',
      'per.population': 'dân số',
      'layer.crop': 'Cây trồng', 'layer.aquaculture': 'Nuôi trồng thủy sản', 'layer.growing_area': 'Vùng trồng',
      'layer.ocop': 'Sản phẩm OCOP', 'layer.monitoring': 'Trạm quan trắc',
      'layer.irrigation_works': 'Công trình thủy lợi', 'layer.irrigated_areas': 'Diện tích được tưới',
      'layer.forest_plots': 'Lô rừng', 'layer.livestock_farms': 'Trang trại chăn nuôi',
    },
    en: {
      button: 'Statistics', title: 'Statistics by commune', layer: 'Layer', filter: 'Filter by',
      any: '(any)', from: 'From', to: 'To', classes: 'Split by', none: '(none)',
      metrics: 'Metrics', per: 'Per', run: 'Show', excel: 'Download Excel', csv: 'Download CSV',
      code: 'Code', name: 'Name', features: 'Features', total: 'Total', rows: 'rows',
      shown: 'Map coloured by', error: 'The statistic failed', close: 'Close',
      'metric.area': 'Area', 'metric.count': 'Count', 'metric.sum': 'Sum of',
      'per.commune_area': 'commune area', 'per.farmland': 'farmland', 'per.population': 'population',
      'layer.crop': 'Crops', 'layer.aquaculture': 'Aquaculture', 'layer.growing_area': 'Growing areas',
      'layer.ocop': 'OCOP products', 'layer.monitoring': 'Monitoring stations',
      'layer.irrigation_works': 'Irrigation works', 'layer.irrigated_areas': 'Irrigated areas',
      'layer.forest_plots': 'Forest plots', 'layer.livestock_farms': 'Livestock farms',
    },
  };
  const lang = () => (document.documentElement.lang === 'en' ? 'en' : 'vi');
  const t = (key) => TEXT[lang()][key] || TEXT.vi[key] || key;
  const RAMP = ['#f7fcb9', '#addd8e', '#31a354'];
  const MAX_ROWS = 300;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') node.textContent = v;
      else if (v !== false && v != null) node.setAttribute(k, v === true ? '' : v);
    }
    node.append(...children);
    return node;
  }

  let options = [];   // /api/stats/layers
  let labels = {};    // code list → code → { vi, en }
  let titles = {};    // code list → { vi, en }
  let answer = null;  // the last table
  let applied = null; // the choropleth's fill-color, kept across style changes

  // Hidden until what can be asked has arrived.
  const button = el('button', { id: 'stats-button', class: 'tool', type: 'button', 'aria-controls': 'stats-panel', 'aria-expanded': 'false', hidden: true },
    el('span', { 'aria-hidden': 'true', text: '∑' }), el('span', { 'data-stats': 'button' }));
  document.querySelector('.tools').append(button);
  const panel = el('section', { id: 'stats-panel', class: 'panel stats-panel', 'aria-labelledby': 'stats-title', hidden: true });
  document.body.append(panel);

  function codeLabel(list, code) {
    const l = labels[list] && labels[list][code];
    return l ? l[lang()] || l.vi : code;
  }

  let layer = 'crop'; // the layer asked about
  function layerOptions() {
    return options.find((o) => o.layer === layer) || options[0];
  }

  // A field by its code list's title where it has one, else by its name.
  function fieldLabel(field) {
    const title = field && field.code_list && titles[field.code_list];
    return title ? title[lang()] || title.vi : (field ? field.name : '');
  }

  function metricLabel(name) {
    if (name.startsWith('sum:')) return t('metric.sum') + ' ' + name.slice(4);
    return t('metric.' + name);
  }

  // The question as /api/stats parameters, from the form.
  function question() {
    const o = layerOptions();
    const q = new URLSearchParams({ layer: o.layer, by: 'commune' });
    const clauses = [];
    panel.querySelectorAll('[data-filter]').forEach((s) => {
      if (s.value) clauses.push(`${s.dataset.filter}='${s.value.replace(/'/g, "''")}'`);
    });
    if (clauses.length) q.set('filter', clauses.join(' AND '));
    const from = panel.querySelector('#stats-from');
    const to = panel.querySelector('#stats-to');
    if (from && to && (from.value || to.value)) q.set('datetime', `${from.value || '..'}/${to.value || '..'}`);
    const classes = [...panel.querySelectorAll('[data-class]')].map((s) => s.value).filter(Boolean);
    if (classes.length) q.set('class', [...new Set(classes)].join(','));
    const metrics = [...panel.querySelectorAll('[data-metric]:checked')].map((c) => c.value);
    q.set('metric', (metrics.length ? metrics : [o.metrics[0]]).join(','));
    const per = panel.querySelector('#stats-per').value;
    if (per) q.set('per', per);
    return q;
  }

  function render() {
    const o = layerOptions();
    panel.replaceChildren();
    panel.append(el('div', { class: 'panel-head' },
      el('h2', { id: 'stats-title', text: t('title') }),
      el('button', { class: 'close', type: 'button', 'aria-label': t('close'), text: '×', id: 'stats-close' })));
    const form = el('form', { class: 'stats-form', id: 'stats-form' });
    const layerSelect = el('select', { id: 'stats-layer' },
      ...options.map((l) => el('option', { value: l.layer, selected: l === o, text: t('layer.' + l.layer) })));
    form.append(el('label', { for: 'stats-layer', text: t('layer') }), layerSelect);
    // Pick-lists: every class field with a code list or fixed values.
    // (boundary_set says which communes codes mean; the table picks its set itself.)
    const lists = o.classes.filter((c) => c.name !== 'boundary_set' && (c.code_list || (c.values && c.values.length)));
    if (lists.length) {
      const box = el('fieldset', { class: 'stats-filter' }, el('legend', { text: t('filter') }));
      for (const c of lists) {
        const codes = c.code_list ? Object.keys(labels[c.code_list] || {}) : c.values;
        const id = 'stats-filter-' + c.name;
        box.append(el('label', { for: id, text: fieldLabel(c) }), el('select', { id, 'data-filter': c.name },
          el('option', { value: '', text: t('any') }),
          ...codes.map((code) => el('option', { value: code, text: codeLabel(c.code_list, code) }))));
      }
      form.append(box);
    }
    if (o.time) {
      form.append(el('label', { for: 'stats-from', text: t('from') }), el('input', { id: 'stats-from', type: 'date' }),
        el('label', { for: 'stats-to', text: t('to') }), el('input', { id: 'stats-to', type: 'date' }));
    }
    for (const n of [1, 2]) {
      const id = 'stats-class-' + n;
      form.append(el('label', { for: id, text: `${t('classes')} (${n})` }), el('select', { id, 'data-class': String(n) },
        el('option', { value: '', text: t('none') }),
        ...o.classes.map((c) => el('option', { value: c.name, text: fieldLabel(c) }))));
    }
    const metrics = el('fieldset', { class: 'stats-metrics' }, el('legend', { text: t('metrics') }));
    o.metrics.forEach((m, i) => {
      const id = 'stats-metric-' + i;
      metrics.append(el('label', { for: id },
        el('input', { id, type: 'checkbox', value: m, 'data-metric': '', checked: i === 0 }), ' ' + metricLabel(m)));
    });
    form.append(metrics);
    form.append(el('label', { for: 'stats-per', text: t('per') }), el('select', { id: 'stats-per' },
      el('option', { value: '', text: t('none') }),
      ...o.per.map((p) => el('option', { value: p, text: t('per.' + p) }))));
    form.append(el('button', { class: 'button', type: 'submit', id: 'stats-run', text: t('run') }));
    panel.append(form, el('div', { id: 'stats-result', class: 'stats-result', 'aria-live': 'polite' }));
    layerSelect.addEventListener('change', () => { layer = layerSelect.value; render(); });
    form.addEventListener('submit', (e) => { e.preventDefault(); run(); });
    panel.querySelector('#stats-close').addEventListener('click', () => setOpen(false));
  }

  function number(v) {
    if (v == null) return '';
    return v.toLocaleString(lang() === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: Math.abs(v) < 1 ? 4 : 2 });
  }

  function table(d) {
    const o = options.find((l) => l.layer === d.layer);
    const fieldOf = (name) => o.classes.find((c) => c.name === name) || {};
    const head = [t('code'), t('name'), ...(d.classes || []).map((c) => fieldLabel(fieldOf(c))),
      ...d.metrics.map((m) => `${metricLabel(m.name)} (${m.unit})`), t('features')];
    if (d.per) head.push(`${t('per.' + d.per.by)} (${d.per.unit})`, ...d.metrics.map((m) => `${metricLabel(m.name)} / ${t('per.' + d.per.by)}`));
    const body = d.rows.slice(0, MAX_ROWS).map((r) => el('tr', { 'data-code': r.code },
      el('td', { text: r.code }), el('td', { text: r.name }),
      ...(r.classes || []).map((c, i) => el('td', { text: codeLabel(fieldOf(d.classes[i]).code_list, c) })),
      ...r.values.map((v) => el('td', { class: 'num', text: number(v) })),
      el('td', { class: 'num', text: String(r.features) }),
      ...(d.per ? [el('td', { class: 'num', text: number(r.denominator) }), ...r.ratios.map((v) => el('td', { class: 'num', text: number(v) }))] : [])));
    const foot = el('tr', { class: 'total' }, el('td', { text: t('total') }), el('td'),
      ...(d.classes || []).map(() => el('td')), ...d.totals.map((v) => el('td', { class: 'num', text: number(v) })));
    return el('table', { class: 'stats-table', id: 'stats-table' },
      el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, ...body, foot));
  }

  // The communes coloured by the first metric (or its ratio with per=), the
  // class cells of a commune added up: the same answer as the table.
  function choropleth(d) {
    const byCode = {};
    for (const r of d.rows) {
      const v = d.per ? r.ratios[0] : r.values[0];
      if (v != null) byCode[r.code] = (byCode[r.code] || 0) + v;
    }
    const max = Math.max(0, ...Object.values(byCode));
    if (!(max > 0)) return [RAMP[0], max];
    const figure = ['match', ['get', 'code']];
    for (const [code, v] of Object.entries(byCode)) figure.push(code, v);
    figure.push(0);
    return [['interpolate', ['linear'], figure, 0, RAMP[0], max / 2, RAMP[1], max, RAMP[2]], max];
  }

  function paint() {
    if (!applied || !map.getLayer('commune-choropleth')) return;
    map.setPaintProperty('commune-choropleth', 'fill-color', applied.colour);
    map.setFilter('commune-choropleth', ['==', ['get', 'boundary_set'], applied.set]);
  }
  map.on('style.load', paint);

  async function run() {
    const q = question();
    const result = panel.querySelector('#stats-result');
    result.replaceChildren(el('p', { class: 'muted', text: '…' }));
    const reply = await fetch('/api/stats?' + q);
    const d = await reply.json();
    if (!reply.ok) {
      result.replaceChildren(el('p', { class: 'error', role: 'alert', text: `${t('error')}: ${d.error ? d.error.message : reply.status}` }));
      return;
    }
    answer = d;
    const [colour, max] = choropleth(d);
    applied = { colour, set: d.boundary_set };
    paint();
    const xlsx = new URLSearchParams(q); xlsx.set('f', 'xlsx');
    const csv = new URLSearchParams(q); csv.set('f', 'csv');
    const first = d.metrics[0];
    result.replaceChildren(
      el('p', { class: 'stats-links' },
        el('a', { class: 'button', id: 'stats-excel', href: '/api/stats?' + xlsx, download: '', text: t('excel') }), ' ',
        el('a', { class: 'button secondary', href: '/api/stats?' + csv, download: '', text: t('csv') })),
      el('p', { class: 'muted', id: 'stats-legend', text: `${t('shown')}: ${metricLabel(first.name)}${d.per ? ' / ' + t('per.' + d.per.by) : ''}, 0 – ${number(max)}` }),
      el('p', { class: 'muted', text: `${d.rows.length} ${t('rows')}` }),
      table(d));
    window.agrimap.stats = d;
  }

  function setOpen(open) {
    panel.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (open && !panel.querySelector('form')) render();
  }
  button.addEventListener('click', () => setOpen(panel.hidden));

  // Shown in planner mode only, like the page's other planner tools.
  const mode = document.getElementById('mode');
  const follow = () => {
    const planner = mode.getAttribute('aria-pressed') === 'true';
    button.hidden = !planner;
    if (!planner) setOpen(false);
  };
  new MutationObserver(follow).observe(mode, { attributes: true, attributeFilter: ['aria-pressed'] });
  // The page's language switch sets <html lang>: the panel follows it.
  new MutationObserver(() => {
    button.querySelector('[data-stats]').textContent = t('button');
    if (panel.querySelector('form')) { render(); if (answer) run(); }
  }).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });

  Promise.all([
    fetch('/api/stats/layers').then((r) => r.json()),
    fetch('/api/codes').then((r) => r.json()),
  ]).then(([layers, codes]) => {
    options = layers;
    for (const list of codes.lists) {
      labels[list.list] = {};
      titles[list.list] = { vi: list.title_vi, en: list.title_en };
      for (const c of list.codes) labels[list.list][c.code] = { vi: c.label_vi, en: c.label_en };
    }
    button.querySelector('[data-stats]').textContent = t('button');
    follow();
    window.agrimap.statsPanel = { open: () => setOpen(true), run };
  });
})();
