// Render TeX formulas with MathJax 3.2.2 (npm mathjax-full@3.2.2) as SVG with the local font cache,
// SVG without a font cache and CHTML, each with the assistive MathML MathJax adds by default.
// Output: one JSON record per formula and mode (tests/data/README.md). Regenerate with
//   npm install mathjax-full@3.2.2 && node mathjax3_render.js mathjax3_formulas.json \
//     | gzip -9 > mathjax3_rendered.jsonl.gz
const {mathjax} = require('mathjax-full/js/mathjax.js');
const {TeX} = require('mathjax-full/js/input/tex.js');
const {SVG} = require('mathjax-full/js/output/svg.js');
const {CHTML} = require('mathjax-full/js/output/chtml.js');
const {liteAdaptor} = require('mathjax-full/js/adaptors/liteAdaptor.js');
const {RegisterHTMLHandler} = require('mathjax-full/js/handlers/html.js');
const {AssistiveMmlHandler} = require('mathjax-full/js/a11y/assistive-mml.js');
const {AllPackages} = require('mathjax-full/js/input/tex/AllPackages.js');
const fs = require('fs');
const formulas = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const adaptor = liteAdaptor();
AssistiveMmlHandler(RegisterHTMLHandler(adaptor));
const out = [];
const jaxes = {
  svg_local: () => new SVG({fontCache: 'local'}),
  svg_none: () => new SVG({fontCache: 'none'}),
  chtml: () => new CHTML({fontURL: 'https://cdn.jsdelivr.net/npm/mathjax@3/es5/output/chtml/fonts/woff-v2'}),
};
for (const [mode, make] of Object.entries(jaxes)) {
  const doc = mathjax.document('', {InputJax: new TeX({packages: AllPackages}), OutputJax: make()});
  for (const f of formulas) {
    const node = doc.convert(f.tex, {display: !!f.display});
    out.push({mode, tex: f.tex, display: !!f.display, html: adaptor.outerHTML(node)});
  }
}
process.stdout.write(out.map(o => JSON.stringify(o)).join('\n') + '\n');
