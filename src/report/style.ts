/** The report's stylesheet: system fonts only (the page works offline), light theme, print-friendly. */
export const REPORT_CSS = `
:root {
  --font: "Inter", "Segoe UI", system-ui, -apple-system, "Helvetica Neue", "Liberation Sans", Arial, sans-serif;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  --bg: #f5f7fb; --card: #ffffff; --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --soft: #f1f5f9;
  --teacher: #4f46e5; --hard: #e11d48; --distilled: #059669; --paper: #94a3b8; --amber: #d97706; --violet: #7c3aed;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.6 var(--font); }
.wrap { max-width: 1180px; margin: 0 auto; padding: 0 28px; }
a { color: var(--teacher); }
code, .mono { font-family: var(--mono); font-size: 0.9em; }

.hero { background: radial-gradient(1200px 400px at 85% -10%, rgba(129,140,248,.45), transparent 60%),
        linear-gradient(135deg, #0f0c3d 0%, #1e1b4b 45%, #3730a3 100%); color: #eef2ff; padding: 44px 0 96px; }
.hero .kicker { text-transform: uppercase; letter-spacing: .14em; font-size: 12px; font-weight: 700; color: #a5b4fc; }
.hero h1 { font-size: 38px; line-height: 1.15; margin: 8px 0 10px; letter-spacing: -0.02em; font-weight: 800; }
.hero p.lede { max-width: 760px; margin: 0; color: #c7d2fe; font-size: 16px; }
.chips { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 20px; }
.chip { background: rgba(255,255,255,.1); border: 1px solid rgba(255,255,255,.18); border-radius: 999px; padding: 3px 12px; font-size: 13px; color: #e0e7ff; }
.chip b { color: #fff; font-weight: 600; }

.banner { margin-top: 18px; display: inline-block; background: #fef3c7; border: 1px solid #fcd34d; color: #78350f; border-radius: 10px;
          padding: 7px 14px; font-size: 14px; }
.banner b { color: #92400e; }
.banner code { background: rgba(146,64,14,.08); padding: 0 4px; border-radius: 4px; }

.cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 16px; margin-top: -64px; position: relative; }
.card { background: var(--card); border-radius: 14px; padding: 18px 20px 16px; border-top: 4px solid var(--c, var(--teacher));
        box-shadow: 0 1px 2px rgba(15,23,42,.06), 0 10px 30px rgba(15,23,42,.08); }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); font-weight: 700; }
.card .arch { font-size: 12.5px; color: var(--muted); margin-top: 2px; min-height: 1.3em; }
.card .big { font-size: 42px; font-weight: 800; letter-spacing: -0.03em; line-height: 1.1; margin-top: 8px; color: var(--c, var(--ink));
             font-variant-numeric: tabular-nums; }
.card .big small { font-size: 14px; font-weight: 600; color: var(--muted); letter-spacing: 0; margin-left: 4px; }
.card .vs { margin-top: 6px; font-size: 13.5px; color: var(--muted); }
.card .vs b { color: var(--ink); }
.card .foot { margin-top: 10px; padding-top: 8px; border-top: 1px solid var(--line); font-size: 12.5px; color: var(--muted); font-variant-numeric: tabular-nums; }
.cards-key { margin: 10px 2px 0; font-size: 12.5px; color: var(--muted); }
.cards-key .delta { margin-left: 0; }
.card .ci { font-size: 12.5px; color: var(--muted); font-variant-numeric: tabular-nums; }
.bar-key { display: flex; justify-content: space-between; font-size: 11.5px; color: var(--muted); margin-top: 4px; }
.delta { display: inline-block; font-size: 12px; font-weight: 700; padding: 1px 8px; border-radius: 999px; margin-left: 6px; }
.delta.good { background: #dcfce7; color: #166534; }
.delta.bad { background: #ffe4e6; color: #9f1239; }
.delta.flat { background: var(--soft); color: var(--muted); }
.bar { height: 8px; border-radius: 99px; background: var(--soft); margin-top: 12px; overflow: hidden; position: relative; }
.bar i { display: block; height: 100%; background: linear-gradient(90deg, #10b981, #059669); border-radius: 99px; }
.bar .tick { position: absolute; top: -3px; width: 2px; height: 14px; background: var(--ink); opacity: .55; }

.minis { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 16px; margin-top: 16px; }
.mini { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 12px 16px; }
.mini .label { font-size: 12px; color: var(--muted); font-weight: 600; }
.mini .val { font-size: 22px; font-weight: 750; font-variant-numeric: tabular-nums; letter-spacing: -0.01em; }
.mini .sub { font-size: 12.5px; color: var(--muted); }

section { margin: 52px 0; }
section > h2 { font-size: 24px; letter-spacing: -0.015em; margin: 0 0 4px; font-weight: 800; }
section > h2 .num { color: var(--teacher); margin-right: 8px; font-weight: 800; }
section > p.intro { color: #334155; max-width: 860px; margin: 4px 0 18px; }
.grid2 { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px; }
.grid3 { display: grid; grid-template-columns: 3fr 2fr; gap: 18px; align-items: start; }
.grid-3eq { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 18px; align-items: start; }
.auto { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 18px; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 14px; padding: 16px 18px 14px;
         box-shadow: 0 1px 2px rgba(15,23,42,.04); min-width: 0; }
.panel h3 { margin: 0 0 2px; font-size: 15.5px; font-weight: 700; }
.panel .cap { margin: 0 0 10px; font-size: 13px; color: var(--muted); }
.chart { position: relative; height: 300px; width: 100%; }
.chart.tall { height: 360px; }
.chart.short { height: 220px; }

.targets { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 8px 18px; margin: 0; padding: 0; list-style: none; }
.targets li { display: flex; gap: 10px; align-items: baseline; font-size: 14px; padding: 6px 0; border-bottom: 1px dashed var(--line); }
.targets li .v { margin-left: auto; font-variant-numeric: tabular-nums; color: var(--muted); white-space: nowrap; }
.mark { flex: none; width: 20px; height: 20px; border-radius: 50%; display: inline-grid; place-items: center; font-size: 12px; font-weight: 800; color: #fff; }
.mark.ok { background: #16a34a; } .mark.miss { background: #e11d48; } .mark.na { background: #cbd5e1; }

table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); font-weight: 700; background: var(--soft); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.ours { font-weight: 700; }
td.notes { color: var(--muted); font-size: 13px; }
tr.group td { background: #fafbff; font-weight: 700; color: var(--teacher); font-size: 13px; letter-spacing: .02em; }
table.results { min-width: 620px; }
table.results td:first-child { width: 34%; }
table.results td.ours { width: 17%; }
table.compact { font-size: 13px; }
table.compact td, table.compact th { padding: 6px 8px; }
table .sub { font-size: 11.5px; color: var(--muted); white-space: normal; }
td.mono { font-family: var(--mono); font-size: 12px; color: #334155; overflow-wrap: anywhere; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; font-size: 14px; margin: 0; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }

.stats { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 10px; margin-top: 10px; }
.stat { background: var(--soft); border-radius: 10px; padding: 10px 12px; }
.stat .k { font-size: 12px; color: var(--muted); font-weight: 600; }
.stat .v { font-size: 20px; font-weight: 800; font-variant-numeric: tabular-nums; }
.stat .p { font-size: 12.5px; color: var(--muted); }
.stats.three { grid-template-columns: repeat(3, minmax(0, 1fr)); margin-top: 14px; }

.dk-grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px; }
.dk-card { display: grid; grid-template-columns: 96px minmax(0, 1fr); gap: 14px; align-items: start; }
.digit { width: 96px; }
.digit canvas { width: 96px; height: 96px; image-rendering: pixelated; image-rendering: crisp-edges; border-radius: 8px;
                border: 1px solid var(--line); display: block; }
.digit .meta { font-size: 12.5px; color: var(--muted); margin-top: 6px; line-height: 1.4; }
.digit .meta b { color: var(--ink); font-size: 15px; }
.toggle { display: inline-flex; border: 1px solid var(--line); border-radius: 999px; overflow: hidden; background: var(--card); font-size: 13px; }
.toggle button { border: 0; background: transparent; padding: 5px 14px; cursor: pointer; font: inherit; color: var(--muted); }
.toggle button[aria-pressed="true"] { background: var(--teacher); color: #fff; }
.toolbar { display: flex; align-items: center; gap: 12px; margin: 0 0 14px; font-size: 13px; color: var(--muted); flex-wrap: wrap; }
.toolbar .legend { display: inline-flex; gap: 14px; margin-left: 8px; }
.swatches { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 0 0 8px; font-size: 12.5px; }
.swatch { display: inline-flex; align-items: center; gap: 6px; color: #334155; font-weight: 600; }
.swatch i { width: 12px; height: 12px; border-radius: 3px; display: inline-block; }
.heatmap-wrap { overflow-x: auto; }
svg.heatmap { display: block; max-width: 100%; height: auto; font-family: var(--font); }
svg.heatmap .hm-label { font-size: 11px; fill: #475569; }
svg.heatmap .hm-title { font-size: 12px; font-weight: 700; fill: #334155; }
svg.heatmap .hm-value { font-size: 9.5px; font-variant-numeric: tabular-nums; pointer-events: none; }
svg.heatmap rect.cell:hover { stroke: #0f172a; stroke-width: 2; }
.groups { display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 0 10px; }
.grp { background: #eef2ff; color: #3730a3; border-radius: 8px; padding: 2px 8px; font-size: 12.5px; font-family: var(--mono); }
.notes li { margin: 4px 0; }
.table-wrap { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
.panel > .table-wrap:first-child { margin: 0; }
table.confusion th, table.confusion td { padding: 4px 7px; }
table.confusion tbody th { text-transform: none; letter-spacing: 0; font-size: 13px; color: var(--ink); }
.cards.one { grid-template-columns: minmax(0, 420px); }
.toc { position: sticky; top: 0; z-index: 10; display: flex; gap: 4px 16px; overflow-x: auto; white-space: nowrap; margin: 22px 0 0;
       padding: 9px 2px; background: rgba(245,247,251,.96); border-bottom: 1px solid var(--line); font-size: 13px; }
.toc a { color: #334155; text-decoration: none; font-weight: 600; }
.toc a:hover { color: var(--teacher); text-decoration: underline; }
.toc a.ext { color: var(--teacher); font-weight: 500; }
.toc a.ext:first-of-type { margin-left: auto; }
section { scroll-margin-top: 52px; }
footer { border-top: 1px solid var(--line); padding: 22px 0 40px; color: var(--muted); font-size: 13px; }

@media (max-width: 900px) {
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .grid2, .grid3, .grid-3eq, .dk-grid, .minis, .targets, .stats.three { grid-template-columns: minmax(0, 1fr); }
}
@media (max-width: 560px) {
  .wrap { padding: 0 14px; }
  .hero { padding: 30px 0 84px; }
  .hero h1 { font-size: 28px; }
  .cards, .cards.one { grid-template-columns: minmax(0, 1fr); }
  .card .big { font-size: 34px; }
  /* The heatmap keeps a readable size and scrolls sideways in its container rather than shrinking. */
  svg.heatmap { max-width: none; width: 520px; }
}
@media print {
  .toc { display: none; }
  body { background: #fff; }
  .hero { background: #1e1b4b; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .panel, .card { break-inside: avoid; box-shadow: none; }
  .toggle { display: none; }
}
`;
