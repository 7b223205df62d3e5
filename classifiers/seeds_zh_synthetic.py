"""Synthetic Chinese math positives: problems generated from templates written for this project.

Why synthetic: no Chinese math corpus is available offline with a licence we can ship, and the
Chinese benchmarks (cmath, cn_middle_school, gaokao) are evaluation and decontamination targets,
never training data. The real Chinese positives (exam-zh's sample exam, math chapters of Chinese
LaTeX manuals) are few and mostly senior-high or typesetting text, so primary-school word problems
(the register of cmath) had no positives at all. These templates were written from the school
curriculum's topics in our own words; no benchmark item was copied or paraphrased. The model card
says this, and that Chinese recall measured on cmath is therefore optimistic about style.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

SEED = 20251123
NAMES = ["小明", "小红", "小刚", "小丽", "王老师", "李叔叔", "张阿姨", "小华", "爷爷", "妈妈", "哥哥", "同学们"]
ITEMS = [("苹果", "个"), ("铅笔", "支"), ("故事书", "本"), ("小鸡", "只"), ("糖果", "颗"), ("树苗", "棵"),
         ("练习本", "本"), ("气球", "个"), ("邮票", "张"), ("橘子", "个")]
SHAPES = [("长方形", "长", "宽"), ("平行四边形", "底", "高")]


def _problem(rng: random.Random) -> str:
    name, other = rng.sample(NAMES, 2)
    item, unit = rng.choice(ITEMS)
    a, b, c = rng.randint(12, 98), rng.randint(2, 11), rng.randint(3, 9)
    kind = rng.randrange(22)
    if kind == 0:
        return f"{name}有{a}{unit}{item}，送给{other}{b}{unit}，{name}还剩多少{unit}{item}？"
    if kind == 1:
        return f"{name}第一天做了{a}道题，第二天比第一天多做{b}道，两天一共做了多少道题？"
    if kind == 2:
        return f"每{unit}{item}{c}元，{name}买了{b}{unit}，一共要付多少元？付了{c * b + 10}元，应找回多少元？"
    if kind == 3:
        return f"一辆汽车每小时行驶{a}千米，行驶了{c}小时，一共行驶了多少千米？照这样的速度，行驶{a * b}千米需要几小时？"
    if kind == 4:
        shape, x, y = rng.choice(SHAPES)
        return f"一个{shape}的{x}是{a}厘米，{y}是{b}厘米，它的面积是多少平方厘米？"
    if kind == 5:
        return f"一个正方形的边长是{b}米，它的周长是多少米？面积是多少平方米？"
    if kind == 6:
        return f"一个圆的半径是{b}厘米，求这个圆的周长和面积。（$\\pi$ 取 3.14）"
    if kind == 7:
        return f"解方程：${c}x + {b} = {c * a + b}$。"
    if kind == 8:
        return f"{name}读一本{a * c}页的书，每天读{a}页，几天可以读完？如果每天多读{b}页，可以提前几天读完？"
    if kind == 9:
        return f"计算：$\\frac{{{b}}}{{{c + b}}} + \\frac{{{c}}}{{{c + b}}}$ 等于多少？把结果化成最简分数。"
    if kind == 10:
        return f"一个班有{a}名学生，其中男生占百分之{rng.choice([40, 45, 50, 55, 60])}，男生有多少人？女生比男生少多少人？"
    if kind == 11:
        return f"已知函数 $f(x) = {c}x^2 - {b}x + {a}$，求 $f({c})$ 的值，并求函数的最小值。"
    if kind == 12:
        return f"{name}和{other}共有{a + b}{unit}{item}，{name}比{other}多{b}{unit}，两人各有多少{unit}？"
    if kind == 13:
        return f"三个数的平均数是{a}，其中两个数分别是{a - b}和{a + c}，第三个数是多少？"
    if kind == 14:
        return f"甲、乙两地相距{a * 10}千米，两辆车同时从两地相对开出，速度分别是每小时{a}千米和每小时{a + b}千米，几小时后相遇？"
    if kind == 16:
        return f"已知点 $({b}, {c})$ 在反比例函数 $y = k/x$ 的图象上，求 $k$ 的值，并判断函数在第一象限内的增减性。"
    if kind == 17:
        return f"两个相似三角形的相似比是 {b}:{c}，它们的周长比是多少？面积比是多少？"
    if kind == 18:
        return f"解不等式组：$2x - {b} > {c}$ 且 $x + {c} \\le {a}$，并把解集在数轴上表示出来。"
    if kind == 19:
        return f"下列各数中，最大的数是（ ）A. $-{b}$  B. $0$  C. $\\sqrt{{{c}}}$  D. ${b}/{c}$"
    if kind == 20:
        return f"在直角三角形 $ABC$ 中，$\\angle C = 90^\\circ$，$AC = {b}$，$BC = {c}$，求斜边 $AB$ 的长和 $\\sin A$ 的值。"
    if kind == 21:
        return f"一次函数 $y = {c}x - {b}$ 的图象经过哪几个象限？它与 $x$ 轴的交点坐标是多少？"
    return f"在等差数列 $\\{{a_n\\}}$ 中，$a_1 = {b}$，公差 $d = {c}$，求 $a_{{{a % 20 + 5}}}$ 和前 {a % 20 + 5} 项的和 $S_{{{a % 20 + 5}}}$。"


def synthetic_examples(n: int = 1500, seed: int = SEED) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        # One to three problems per example, like a worksheet fragment.
        text = "\n".join(f"{j + 1}. {_problem(rng)}" for j in range(rng.randint(1, 3)))
        if rng.random() < 0.5:  # much Chinese math is typed without TeX delimiters
            text = text.replace("$", "").replace("\\", "")
        yield {"text": text, "label": "math", "source": "zh", "domain": "zh:synthetic", "origin": f"zh-synthetic#{i}"}
