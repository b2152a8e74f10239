"""The four operations on two signed decimals: add, sub, mul, div (contest: 2 decimals)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from datagen.family import ConfigError, Family, Space, check_range, register, signed_axis
from datagen.numbers import CTX28, canonical, exact_answer, fixed, pow10
from datagen.steps import goat_product, long_division, paren, sum_chain
from datagen.style import styled


@dataclass(frozen=True)
class ArithmeticConfig:
    """digits: integer-part digits of each operand (each pair of sizes is a class)."""

    digits: tuple[int, int] = (1, 4)
    decimals: int = 2
    negative: bool = True
    steps_sig: int = 10

    def validate(self) -> None:
        check_range("digits", self.digits, 1, 18)
        if not 0 <= self.decimals <= 8:
            raise ConfigError(f"decimals: {self.decimals} is outside 0-8")
        if not 2 <= self.steps_sig <= 40:
            raise ConfigError(f"steps_sig: {self.steps_sig} is outside 2-40")


def spaces_for(nonzero_divisor: bool):
    def spaces(cfg: ArithmeticConfig) -> list[Space]:
        lo, hi = cfg.digits
        return [
            Space(
                f"{d1}x{d2}",
                (
                    signed_axis(d1, cfg.decimals, cfg.negative),
                    signed_axis(d2, cfg.decimals, cfg.negative, nonzero=nonzero_divisor),
                ),
                {"digits": [d1, d2], "decimals": cfg.decimals},
            )
            for d1 in range(lo, hi + 1)
            for d2 in range(lo, hi + 1)
        ]

    return spaces


def phrasings(zh_word: str, en_word: str, sym: str, en_sym: str) -> dict[str, tuple[str, ...]]:
    """zh0 is the contest's own; English writes × and ÷ and brackets a negative right operand ({pb})."""
    return {
        "zh": (
            f"计算 {{a}} {sym} {{b}} 等于多少？",
            f"{{a}} {en_sym} {{b}} 的结果是多少？",
            f"请算出 {{a}} {zh_word}。",
        ),
        "en": (
            f"What is {{a}} {en_sym} {{pb}}?",
            f"Calculate {{a}} {en_sym} {{pb}}.",
            en_word,
        ),
    }


ADD = phrasings("加 {b} 的和", "Compute the sum of {a} and {b}.", "+", "+")
SUB = phrasings("减去 {b} 的差", "Subtract {b} from {a}.", "-", "-")
MUL = phrasings("乘以 {b} 的积", "Compute the product of {a} and {b}.", "*", "×")
DIV = phrasings("除以 {b} 的商", "Divide {a} by {b}.", "/", "÷")


def render_sum(op: str, texts: dict):
    def render(cfg: ArithmeticConfig, values: tuple, lang: str, template: int, style: str) -> dict:
        a, b = values
        s = cfg.decimals
        A, B = fixed(a, s), fixed(b, s)
        r = a + b if op == "+" else a - b
        R = fixed(r, s)
        solution, policy = styled(style, bare=R, contest=f"{A} {op} {B} = {R}", steps=lambda: sum_chain(a, b, s, op))
        return {
            "problem": texts[lang][template].format(a=A, b=B, pb=paren(B)),
            "answer": canonical(r, s),
            "answer_policy": "exact",
            "solution": solution,
            "solution_policy": policy,
            "operands": [A, B],
        }

    return render


def render_mul(cfg: ArithmeticConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    a, b = values
    s = cfg.decimals
    A, B = fixed(a, s), fixed(b, s)
    R = fixed(a * b, 2 * s)

    def steps() -> str:
        lines = []
        sign = "-" if (a < 0) != (b < 0) and a and b else ""
        core = f"{abs(a)} * {abs(b)}"
        if s or a < 0 or b < 0:
            scaled = f"{sign}({core})" if sign else core
            lines.append(f"{A} * {B} = {scaled}" + (f" / {pow10(2 * s)}" if s else ""))
        lines.extend(goat_product(abs(a), abs(b)))
        lines.append(f"{A} * {B} = {R}")
        return "\n".join(lines)

    solution, policy = styled(style, bare=R, contest=f"{A} * {B} = {R}", steps=steps)
    return {
        "problem": MUL[lang][template].format(a=A, b=B, pb=paren(B)),
        "answer": canonical(a * b, 2 * s),
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": [A, B],
    }


def render_div(cfg: ArithmeticConfig, values: tuple, lang: str, template: int, style: str) -> dict:
    a, b = values
    s = cfg.decimals
    A, B = fixed(a, s), fixed(b, s)
    answer = exact_answer(Fraction(a, b))

    def steps() -> tuple[str, str]:
        sign = "-" if (a < 0) != (b < 0) and a else ""
        lines = []
        if s or a < 0 or b < 0:
            core = f"{abs(a)} / {abs(b)}"
            lines.append(f"{A} / {B} = " + (f"-({core})" if sign else core))
        division, text, exact = long_division(abs(a), abs(b), cfg.steps_sig)
        lines.extend(division)
        lines.append(f"{A} / {B} {'=' if exact else '≈'} {sign}{text}")
        return "\n".join(lines), "exact" if exact else f"trunc{cfg.steps_sig}"

    def shown() -> tuple[str, str]:
        text = str(CTX28.divide(Decimal(A), Decimal(B)))
        return text, "exact" if "/" not in answer and canonical_eq(text, answer) else "sig28"

    solution, policy = styled(style, bare=shown, contest=lambda r: f"{A} / {B} = {r}", steps=steps)
    return {
        "problem": DIV[lang][template].format(a=A, b=B, pb=paren(B)),
        "answer": answer,
        "answer_policy": "exact",
        "solution": solution,
        "solution_policy": policy,
        "operands": [A, B],
    }


def canonical_eq(shown: str, answer: str) -> bool:
    return Decimal(shown) == Decimal(answer)


class AddConfig(ArithmeticConfig):
    """Addition of two signed decimals."""


class SubConfig(ArithmeticConfig):
    """Subtraction of two signed decimals."""


class MulConfig(ArithmeticConfig):
    """Multiplication; the product keeps 2 x decimals, like the contest's 4."""


class DivConfig(ArithmeticConfig):
    """Division; contest style shows 28 significant digits, steps truncate at steps_sig."""


def sum_value(ops, num, lang="zh", template=0):
    return num(ops[0]) + num(ops[1])


def difference_value(ops, num, lang="zh", template=0):
    return num(ops[0]) - num(ops[1])


def product_value(ops, num, lang="zh", template=0):
    return num(ops[0]) * num(ops[1])


def quotient_value(ops, num, lang="zh", template=0):
    return num(ops[0]) / num(ops[1])


CONTEST = {"group": "contest", "fields": ("a", "b")}
register(Family("add", AddConfig, spaces_for(False), render_sum("+", ADD), ADD, op="+", value=sum_value,
                notations=(("+",),), **CONTEST))
register(Family("sub", SubConfig, spaces_for(False), render_sum("-", SUB), SUB, op="-", value=difference_value,
                notations=(("-",),), **CONTEST))
register(Family("mul", MulConfig, spaces_for(False), render_mul, MUL, op="*", value=product_value,
                notations=(("*",), ("×",)), **CONTEST))
register(Family("div", DivConfig, spaces_for(True), render_div, DIV, op="/", value=quotient_value,
                notations=(("/",), ("÷",)), **CONTEST))
