// The Usage page (/usage/: the signed-in person's figures) and the Insights page (/insights/: everyone's, for
// staff), drawn from /api/usage/ and /api/admin/usage/. Charts are Chart.js (vendored, a classic script that
// defines window.Chart); every figure a chart shows is also written as text, for screen readers and phones.

const PATHS = { "/usage/": "mine", "/insights/": "everyone" };
const FIGURES = [
  ["turns", "Turns"],
  ["prompt_tokens", "Prompt tokens"],
  ["completion_tokens", "Completion tokens"],
  ["errors", "Errors"],
  ["cancellations", "Cancelled"],
  ["fallbacks", "Fallbacks"],
  ["answers_with_sources", "Answers with sources"],
  ["ttft_p50_ms", "First token p50 (ms)"],
  ["ttft_p95_ms", "First token p95 (ms)"],
  ["tokens_per_second", "Tokens per second"],
  ["documents_ingested", "Documents ingested"],
  ["chunks_ingested", "Chunks ingested"],
];
const number = new Intl.NumberFormat();

/** A figure as shown: a count grouped by thousands, "–" for none (a percentile of no turns). */
export function shown(value) {
  return value === null || value === undefined ? "–" : number.format(value);
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function bucketLabel(start, bucket) {
  const date = new Date(start);
  const options = bucket === "hour"
    ? { hour: "2-digit", minute: "2-digit", timeZone: "UTC" }
    : { month: "short", day: "numeric", timeZone: "UTC" };
  return date.toLocaleString(undefined, options);
}

export class UsagePage {
  constructor({ api, root, toast }) {
    this.api = api;
    this.root = root;
    this.toast = toast;
    this.charts = [];
    this.scope = "mine";
    this.report = null;
    root.addEventListener("change", (event) => {
      if (event.target.name === "bucket") this.refresh();
    });
    // The charts' colours follow the theme: redrawn when the toggle or the system changes it.
    const redraw = () => {
      if (this.report && !root.hidden) this.render(this.report);
    };
    new MutationObserver(redraw).observe(document.documentElement, { attributeFilter: ["data-theme"] });
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", redraw);
  }

  /** Staff get the Insights link; the others never see it (the API refuses them anyway). */
  async revealInsights(link) {
    try {
      link.hidden = !(await this.api.get("/api/auth/me/")).is_staff;
    } catch {
      link.hidden = true;
    }
  }

  handles(path) {
    return path in PATHS;
  }

  async show(path) {
    this.scope = PATHS[path];
    this.root.dataset.scope = this.scope;
    await this.refresh();
  }

  hide() {
    this.destroyCharts();
  }

  async refresh() {
    const bucket = this.root.querySelector('[name="bucket"]')?.value || "day";
    const base = this.scope === "everyone" ? "/api/admin/usage/" : "/api/usage/";
    this.root.dataset.state = "loading";
    try {
      this.report = await this.api.get(`${base}?bucket=${bucket}`);
    } catch (error) {
      this.root.dataset.state = "error";
      this.root.replaceChildren(element("h1", {}, this.title()), element("p", { "data-testid": "usage-error" }, error.message));
      return;
    }
    this.render(this.report);
    this.root.dataset.state = "ready";
  }

  title() {
    return this.scope === "everyone" ? "Insights" : "Usage";
  }

  render(report) {
    this.destroyCharts();
    const head = element("div", { class: "usage-head" });
    head.append(element("h1", {}, this.title()), this.bucketPicker(report.bucket));
    const parts = [head];
    if (report.budget) parts.push(this.allowance(report.budget, report.quota));
    parts.push(this.figures(report.totals));
    parts.push(this.chart("usage-chart-tokens", "Tokens", (canvas) => this.tokensChart(canvas, report)));
    parts.push(this.chart("usage-chart-ttft", "Time to first token (ms)", (canvas) => this.latencyChart(canvas, report)));
    parts.push(this.chart("usage-chart-models", "Tokens by model", (canvas) => this.modelsChart(canvas, report)));
    parts.push(this.table("usage-models", "By model", ["Model", "Turns", "Tokens", "Errors", "p50 (ms)"],
      Object.entries(report.models).map(([model, f]) => [
        model, f.turns, f.prompt_tokens + f.completion_tokens, f.errors, f.ttft_p50_ms,
      ])));
    if (report.top_users) {
      parts.push(this.table("usage-top-users", "Top users", ["User", "Turns", "Tokens", "Errors"],
        report.top_users.map((u) => [u.username, u.turns, u.tokens, u.errors])));
      parts.push(this.table("usage-providers", "Providers", ["Provider", "Turns", "Error rate", "Breaker trips", "p95 (ms)"],
        Object.entries(report.providers).map(([name, p]) => [
          name, p.turns, `${(p.error_rate * 100).toFixed(1)} %`, p.breaker_trips, p.ttft_p95_ms,
        ])));
      const ingestion = report.ingestion;
      parts.push(this.table("usage-ingestion", "Ingestion", ["Documents", "Chunks", "Chunks a second"],
        [[ingestion.documents, ingestion.chunks, ingestion.chunks_per_second]]));
    }
    this.root.replaceChildren(...parts);
    for (const draw of this.pendingCharts) draw();
    this.pendingCharts = [];
  }

  bucketPicker(bucket) {
    const label = element("label", { class: "usage-bucket" }, "Show ");
    const select = element("select", { name: "bucket", "data-testid": "usage-bucket" });
    for (const [value, text] of [["day", "the last 7 days"], ["hour", "the last 24 hours"]]) {
      const option = element("option", { value }, text);
      option.selected = value === bucket;
      select.append(option);
    }
    label.append(select);
    return label;
  }

  allowance(budget, quota) {
    const box = element("div", { class: "usage-allowance", "data-testid": "usage-allowance" });
    const left = budget.limit === 0
      ? "Unlimited tokens today."
      : `${shown(budget.remaining)} of ${shown(budget.limit)} tokens left today (resets ${new Date(budget.resets_at).toLocaleString()}).`;
    box.append(element("p", { "data-testid": "usage-budget" }, left));
    const documents = quota.max_documents ? `${shown(quota.documents)} of ${shown(quota.max_documents)} documents` : `${shown(quota.documents)} documents`;
    const bytes = quota.max_bytes ? `${shown(quota.bytes)} of ${shown(quota.max_bytes)} bytes` : `${shown(quota.bytes)} bytes`;
    box.append(element("p", { "data-testid": "usage-quota" }, `${documents}, ${bytes} stored.`));
    return box;
  }

  figures(totals) {
    const list = element("dl", { class: "usage-figures", "data-testid": "usage-figures" });
    for (const [key, label] of FIGURES) {
      const item = element("div", { class: "usage-figure" });
      item.append(element("dt", {}, label), element("dd", { "data-testid": `usage-${key}` }, shown(totals[key])));
      list.append(item);
    }
    return list;
  }

  chart(testid, label, draw) {
    const figure = element("figure", { class: "usage-chart" });
    const canvas = element("canvas", { "data-testid": testid, role: "img", "aria-label": label });
    figure.append(element("figcaption", {}, label), canvas);
    this.pendingCharts = this.pendingCharts || [];
    this.pendingCharts.push(() => {
      if (window.Chart) this.charts.push(draw(canvas));
    });
    return figure;
  }

  /** The theme's colours, resolved (a custom property holds light-dark(...), which the canvas cannot read). */
  colours() {
    const probe = this.root.appendChild(element("span"));
    const read = (name) => {
      probe.style.color = `var(${name})`;
      return getComputedStyle(probe).color;
    };
    const colours = { text: read("--text"), grid: read("--border"), accent: read("--accent"),
      second: read("--usage-second"), muted: read("--muted") };
    probe.remove();
    return colours;
  }

  tokensChart(canvas, report) {
    const c = this.colours();
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: report.buckets.map((b) => bucketLabel(b.start, report.bucket)),
        datasets: [
          { label: "Prompt tokens", data: report.buckets.map((b) => b.prompt_tokens), backgroundColor: c.accent },
          { label: "Completion tokens", data: report.buckets.map((b) => b.completion_tokens), backgroundColor: c.second },
        ],
      },
      options: this.options(c, { x: { stacked: true }, y: { stacked: true, beginAtZero: true } }),
    });
  }

  latencyChart(canvas, report) {
    const c = this.colours();
    const line = (label, key, colour) => ({
      label, data: report.buckets.map((b) => b[key]), borderColor: colour, backgroundColor: colour, spanGaps: true,
    });
    return new window.Chart(canvas, {
      type: "line",
      data: {
        labels: report.buckets.map((b) => bucketLabel(b.start, report.bucket)),
        datasets: [line("p50", "ttft_p50_ms", c.accent), line("p95", "ttft_p95_ms", c.second)],
      },
      options: this.options(c, { x: {}, y: { beginAtZero: true } }),
    });
  }

  modelsChart(canvas, report) {
    const c = this.colours();
    const models = Object.entries(report.models);
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: models.map(([name]) => name),
        datasets: [{ label: "Tokens", data: models.map(([, f]) => f.prompt_tokens + f.completion_tokens),
          backgroundColor: c.accent }],
      },
      options: this.options(c, { x: { beginAtZero: true } }, "y"),
    });
  }

  options(c, scales, indexAxis = "x") {
    const axis = { ticks: { color: c.muted }, grid: { color: c.grid } };
    return {
      indexAxis,
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { labels: { color: c.text } } },
      scales: Object.fromEntries(Object.entries(scales).map(([name, extra]) => [name, { ...axis, ...extra }])),
    };
  }

  table(testid, caption, headings, rows) {
    const table = element("table", { class: "usage-table", "data-testid": testid });
    table.append(element("caption", {}, caption));
    const head = element("tr");
    for (const heading of headings) head.append(element("th", { scope: "col" }, heading));
    table.appendChild(element("thead")).append(head);
    const body = table.appendChild(element("tbody"));
    for (const row of rows) {
      const tr = body.appendChild(element("tr"));
      row.forEach((cell, index) => tr.append(element(index ? "td" : "th", index ? {} : { scope: "row" },
        typeof cell === "number" ? shown(cell) : cell === null ? "–" : String(cell))));
    }
    if (!rows.length) body.appendChild(element("tr")).append(element("td", { colspan: headings.length }, "Nothing yet."));
    return table;
  }

  destroyCharts() {
    for (const chart of this.charts) chart.destroy();
    this.charts = [];
  }
}
