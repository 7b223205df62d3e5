// Render TeX formulas with KaTeX 0.16.11 (npm katex@0.16.11) twice: output "htmlAndMathml" (the
// default) and output "html" (the visual copy alone). One JSON record per formula
// (tests/data/README.md). Regenerate with
//   npm install katex@0.16.11 && node katex_render.js mathjax3_formulas.json | gzip -9 > katex_rendered.jsonl.gz
const katex = require('katex');
const fs = require('fs');
const formulas = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
for (const f of formulas) {
  const o = {displayMode: !!f.display, throwOnError: false};
  const both = katex.renderToString(f.tex, {...o, output: 'htmlAndMathml'});
  const html = katex.renderToString(f.tex, {...o, output: 'html'});
  process.stdout.write(JSON.stringify({tex: f.tex, display: !!f.display, both, html}) + '\n');
}
