"""Applied problems of the contest: rectangle area, mass, discount ratio, sales growth."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from datagen.family import ConfigError, Family, Space, check_range, range_axis, register, signed_axis
from datagen.numbers import canonical, exact_answer, fixed
from datagen.steps import approximate
from datagen.style import styled


def check_decimals(name: str, value: int) -> None:
    if not 0 <= value <= 6:
        raise ConfigError(f"{name}: {value} is outside 0-6")


# --- area -------------------------------------------------------------------

AREA = {
    "zh": (
        "一个长方形的长为 {l} 厘米，宽为 {w} 厘米，请计算其面积。",
        "长方形的长是 {l} 厘米，宽是 {w} 厘米，它的面积是多少平方厘米？",
        "求长 {l} 厘米、宽 {w} 厘米的长方形的面积。",
    ),
    "en": (
        "A rectangle is {l} cm long and {w} cm wide. Calculate its area.",
        "What is the area of a rectangle with length {l} cm and width {w} cm?",
        "Find the area of a {l} cm by {w} cm rectangle.",
    ),
}
AREA_SENTENCE = {"zh": "面积为 {r} 平方厘米", "en": "The area is {r} square centimeters"}


@dataclass(frozen=True)
class AreaConfig:
    """digits: integer digits of length and width (each pair a class)."""

    digits: tuple[int, int] = (1, 3)
    decimals: int = 0

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 12)
        check_decimals("decimals", self.decimals)


def area_spaces(cfg: AreaConfig) -> list[Space]:
    s = cfg.decimals
    return [
        Space(
            f"{dl}x{dw}",
            (signed_axis(dl, s, False, nonzero=True), signed_axis(dw, s, False, nonzero=True)),
            {"digits": [dl, dw], "decimals": s},
        )
        for dl in range(cfg.digits[0], cfg.digits[1] + 1)
        for dw in range(cfg.digits[0], cfg.digits[1] + 1)
    ]


def product_value(ops, num, lang="zh", template=0):
    return num(ops[0]) * num(ops[1])


def render_product(texts, sentence, names, scale_of, floats: bool = False):
    """Shared shape of area and mass: the answer is the exact product of two operands.

    ``floats``: the contest computed this product in IEEE doubles (mass: ``942.0 克``), so
    contest and bare solutions print Python's float product, named ``float64_eval``.
    """

    def render(cfg, values: tuple, lang: str, template: int, style: str) -> dict:
        x, y = values
        sx, sy = scale_of(cfg)
        X, Y = fixed(x, sx), fixed(y, sy)
        R = fixed(x * y, sx + sy)
        shown = (repr(float(X) * float(Y)), "float64_eval") if floats else R
        solution, policy = styled(style, bare=shown, contest=lambda r: sentence[lang].format(r=r),
                                  steps=lambda: f"{X} * {Y} = {R}\n" + sentence[lang].format(r=R))
        return {
            "problem": texts[lang][template].format(**{names[0]: X, names[1]: Y}),
            "answer": canonical(x * y, sx + sy),
            "answer_policy": "exact",
            "solution": solution,
            "solution_policy": policy,
            "operands": [X, Y],
        }

    return render


register(
    Family(
        "area",
        AreaConfig,
        area_spaces,
        render_product(AREA, AREA_SENTENCE, ("l", "w"), lambda c: (c.decimals, c.decimals)),
        AREA,
        group="contest",
        fields=("l", "w"),
        value=product_value,
    )
)

# --- mass -------------------------------------------------------------------

MASS = {
    "zh": (
        "某物体的密度为 {d} 克/立方厘米，体积为 {v} 立方厘米，请计算该物体的质量。",
        "一个物体的体积是 {v} 立方厘米，密度是 {d} 克/立方厘米，它的质量是多少克？",
        "密度为 {d} 克/立方厘米、体积为 {v} 立方厘米的物体，质量是多少？",
    ),
    "en": (
        "An object has a density of {d} g/cm³ and a volume of {v} cm³. Calculate its mass.",
        "What is the mass of an object with volume {v} cm³ and density {d} g/cm³?",
        "Find the mass of a body whose density is {d} g/cm³ and whose volume is {v} cm³.",
    ),
}
MASS_SENTENCE = {"zh": "{r} 克", "en": "{r} grams"}


@dataclass(frozen=True)
class MassConfig:
    """density_digits / volume_digits: integer digits of each (each pair a class)."""

    density_digits: tuple[int, int] = (1, 2)
    density_decimals: int = 2
    volume_digits: tuple[int, int] = (1, 3)
    volume_decimals: int = 0

    def validate(self) -> None:
        check_range("density_digits", self.density_digits, 1, 12)
        check_range("volume_digits", self.volume_digits, 1, 12)
        check_decimals("density_decimals", self.density_decimals)
        check_decimals("volume_decimals", self.volume_decimals)


def mass_spaces(cfg: MassConfig) -> list[Space]:
    return [
        Space(
            f"{dd}x{dv}",
            (
                signed_axis(dd, cfg.density_decimals, False, nonzero=True),
                signed_axis(dv, cfg.volume_decimals, False, nonzero=True),
            ),
            {"digits": [dd, dv], "decimals": [cfg.density_decimals, cfg.volume_decimals]},
        )
        for dd in range(cfg.density_digits[0], cfg.density_digits[1] + 1)
        for dv in range(cfg.volume_digits[0], cfg.volume_digits[1] + 1)
    ]


register(
    Family(
        "mass",
        MassConfig,
        mass_spaces,
        render_product(
            MASS, MASS_SENTENCE, ("d", "v"), lambda c: (c.density_decimals, c.volume_decimals), floats=True
        ),
        MASS,
        group="contest",
        fields=("d", "v"),
        value=product_value,
        floats=True,
    )
)

# --- discount ---------------------------------------------------------------

DISCOUNT = {
    "zh": (
        "商品原价为 {p} 元，打折后的价格为 {q} 元，请计算打折的折扣比例。",  # the contest's, verbatim
        "一件商品原价 {p} 元，现价 {q} 元，价格降低了百分之几？",
        "原价 {p} 元的商品打折后卖 {q} 元，折扣比例（百分数）是多少？",
        "一件商品原价 {p} 元，现价 {q} 元，价格提高了百分之几？",
        "原价 {p} 元的商品涨价后卖 {q} 元，涨幅（百分数）是多少？",
    ),
    "en": (
        (
            "An item's original price is {p} yuan and its discounted price is {q} yuan. "
            "Calculate the discount percentage."
        ),
        "A product priced at {p} yuan now sells for {q} yuan. By what percentage was the price cut?",
        "An item that cost {p} yuan is on sale for {q} yuan. What is the discount in percent?",
        (
            "An item's original price is {p} yuan and its new price is {q} yuan. "
            "Calculate the percentage increase."
        ),
        "A product priced at {p} yuan now sells for {q} yuan. By what percentage was the price raised?",
        "An item that cost {p} yuan now costs {q} yuan. What is the price increase in percent?",
    ),
}
# When the new price is higher, every phrasing but the contest's own is swapped for one that
# asks how much the price rose, and the answer is that rise, (q - p) / p * 100.
DISCOUNT_RISE = {"zh": {1: 3, 2: 4}, "en": {0: 3, 1: 4, 2: 5}}
DISCOUNT_SENTENCE = {
    "zh": ("折扣比例为 {r}%", "涨幅为 {r}%"),
    "en": ("The discount is {r}%", "The price rose by {r}%"),
}


def discount_rises(lang: str, template: int) -> bool:
    """Whether phrasing ``template`` asks for the rise (q - p) / p * 100, not the cut."""
    return template in DISCOUNT_RISE[lang].values()


@dataclass(frozen=True)
class DiscountConfig:
    """digits: integer digits of the two prices (each pair a class); markup allows q > p."""

    digits: tuple[int, int] = (2, 4)
    decimals: int = 2
    markup: bool = True
    steps_sig: int = 10

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 12)
        check_decimals("decimals", self.decimals)
        if not 2 <= self.steps_sig <= 40:
            raise ConfigError(f"steps_sig: {self.steps_sig} is outside 2-40")


def discount_spaces(cfg: DiscountConfig) -> list[Space]:
    s = cfg.decimals
    lo, hi = cfg.digits
    return [
        Space(
            f"{dp}x{dq}",
            (signed_axis(dp, s, False, nonzero=True), signed_axis(dq, s, False, nonzero=True)),
            {"digits": [dp, dq], "decimals": s},
        )
        for dp in range(lo, hi + 1)
        for dq in range(lo, (dp if not cfg.markup else hi) + 1)
    ]


def render_discount(cfg: DiscountConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    p, q = values
    s = cfg.decimals
    P, Q = fixed(p, s), fixed(q, s)
    rise = q > p and template in DISCOUNT_RISE[lang]
    if rise:
        template = DISCOUNT_RISE[lang][template]
    # (larger - smaller) in the phrasing's own direction; the contest's zh0 keeps p - q even when negative
    first, second, FIRST, SECOND = (q, p, Q, P) if rise else (p, q, P, Q)
    exact = Fraction(100 * (first - second), p)
    answer = exact_answer(exact)

    def steps() -> tuple[str, str]:
        head = f"({FIRST} - {SECOND}) / {P} * 100 = {fixed(first - second, s)} / {P} * 100"
        if "/" in answer:
            shown = approximate(exact, cfg.steps_sig)
            chain, policy = f"{head} ≈ {shown}", f"sig{cfg.steps_sig}"
        else:
            shown = answer
            chain, policy = f"{head} = {shown}", "exact"
        return chain + "\n" + DISCOUNT_SENTENCE[lang][rise].format(r=shown), policy

    # the contest printed its float computation alone, so contest and bare are one text
    floats = repr((float(FIRST) - float(SECOND)) / float(P) * 100), "float64_eval"
    solution, policy = styled(style, bare=floats, steps=steps)
    return {
        "problem": DISCOUNT[lang][template].format(p=P, q=Q),
        "answer": answer,
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": [P, Q],
        "template": template,
    }


def discount_value(ops, num, lang="zh", template=0):
    """(p - q) / p * 100, or (q - p) / p * 100 where the phrasing asks for the rise."""
    p, q = num(ops[0]), num(ops[1])
    return (q - p) / p * num(100) if discount_rises(lang, template) else (p - q) / p * num(100)


register(Family("discount", DiscountConfig, discount_spaces, render_discount, DISCOUNT, group="contest",
                fields=("p", "q"), value=discount_value, floats=True))

# --- growth -----------------------------------------------------------------

GROWTH = {
    "zh": (
        "去年销售额为 {s} 万元，今年销售额增加了 {g}%，请计算今年的销售额。",
        "某公司去年销售额 {s} 万元，今年增长了 {g}%，今年销售额是多少万元？",
        "去年的销售额是 {s} 万元，今年比去年增加 {g}%，求今年的销售额。",
    ),
    # English states amounts in yuan ({yuan} = 10,000 x the 万元 figure), not "ten-thousand yuan"
    "en": (
        "Last year's sales were {yuan} yuan and this year's grew by {g}%. Calculate this year's sales.",
        "A company's sales were {yuan} yuan last year and rose {g}% this year. What are this year's sales?",
        "Sales were {yuan} yuan last year and increased by {g}% this year. Find this year's sales.",
    ),
}
GROWTH_SENTENCE = {"zh": "今年的销售额为 {r} 万元", "en": "This year's sales are {r} yuan"}
YUAN_PER_WAN = 10_000


@dataclass(frozen=True)
class GrowthConfig:
    """digits: integer digits of last year's sales (one class each); percent: growth range."""

    digits: tuple[int, int] = (2, 4)
    decimals: int = 2
    percent: tuple[int, int] = (1, 50)

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 12)
        check_range("percent", self.percent, 0, 1000)
        check_decimals("decimals", self.decimals)


def growth_spaces(cfg: GrowthConfig) -> list[Space]:
    return [
        Space(
            f"{d}",
            (signed_axis(d, cfg.decimals, False, nonzero=True), range_axis(*cfg.percent)),
            {"digits": [d], "decimals": cfg.decimals},
        )
        for d in range(cfg.digits[0], cfg.digits[1] + 1)
    ]


def render_growth(cfg: GrowthConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    u, g = values
    s = cfg.decimals
    S = fixed(u, s)
    if lang == "en":
        u *= YUAN_PER_WAN
        amount, R = canonical(u, s), canonical(u * (100 + g), s + 2)
    else:
        amount, R = S, fixed(u * (100 + g), s + 2)

    def steps() -> str:
        factor = canonical(100 + g, 2)
        chain = f"{amount} * (1 + {g} / 100) = {amount} * {factor} = {R}"
        return chain + "\n" + GROWTH_SENTENCE[lang].format(r=R)

    # the contest printed its float computation alone, so contest and bare are one text
    solution, policy = styled(style, bare=(repr(float(amount) * (1 + g / 100)), "float64_eval"), steps=steps)
    return {
        "problem": GROWTH[lang][template].format(s=S, yuan=amount, g=g),
        "answer": canonical(u * (100 + g), s + 2),
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": [S, str(g)],
    }


def growth_value(ops, num, lang="zh", template=0):
    """s * (1 + g / 100); English phrasings state the sales in yuan and ask for yuan."""
    amount = num(ops[0]) * num(YUAN_PER_WAN) if lang == "en" else num(ops[0])
    return amount * (num(1) + num(ops[1]) / num(100))


register(Family("growth", GrowthConfig, growth_spaces, render_growth, GROWTH, group="contest", fields=("s", "g"),
                value=growth_value, floats=True))
