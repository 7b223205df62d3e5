"""Regenerate omml_pandoc.jsonl.gz: the OMML pandoc writes into a .docx for each formula of
mathjax3_formulas.json (tests/data/README.md). Needs a pandoc binary (3.9 was used: pip's
pypandoc_binary ships one); run once, the tests read the committed file.

    python tests/data/omml_from_pandoc.py /path/to/pandoc
"""

import gzip
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from lxml import etree

HERE = Path(__file__).parent
M = "http://schemas.openxmlformats.org/officeDocument/2006/math"


def main(pandoc: str) -> None:
    formulas = json.loads((HERE / "mathjax3_formulas.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        md, docx = Path(tmp) / "f.md", Path(tmp) / "f.docx"
        md.write_text("".join(f"$${f['tex']}$$\n\n" if f.get("display") else f"Formula ${f['tex']}$ here.\n\n"
                              for f in formulas))
        subprocess.run([pandoc, str(md), "-o", str(docx)], check=True)
        doc = etree.fromstring(zipfile.ZipFile(docx).read("word/document.xml"))
    blocks = [el for el in doc.iter(f"{{{M}}}oMathPara", f"{{{M}}}oMath")
              if not (el.tag == f"{{{M}}}oMath" and el.getparent().tag == f"{{{M}}}oMathPara")]
    assert len(blocks) == len(formulas)
    with gzip.open(HERE / "omml_pandoc.jsonl.gz", "wt", encoding="utf-8") as out:
        for f, el in zip(formulas, blocks, strict=True):
            omml = re.sub(r'\s+xmlns:\w+="[^"]*"', "", etree.tostring(el, encoding="unicode"))
            out.write(json.dumps({"tex": f["tex"], "display": bool(f.get("display")), "omml": omml},
                                 ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
