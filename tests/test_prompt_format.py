"""One prompt format per chat template: training text, inference prompt, stops, end and echo removal agree."""

import pytest
from datagen.curricula.prompt import (
    FORMATS,
    ChatFormatError,
    PromptFormat,
    end_markers,
    format_for_tokenizer,
    format_from_rendering,
    get_format,
    register_format,
)
from datagen.curricula.templates import TEMPLATES, human_turn, inference_prompt
from datagen.eval.score import END_TOKENS, PROMPT_STARTS, remove_echo

PROBLEM = "计算 4204.22 + -2369.17 等于多少？"
ANSWER = "4204.22 + -2369.17 = 1835.05"


def fastchat_renderer(name):
    pytest.importorskip("fastchat")
    from fastchat.conversation import get_conv_template

    conv = get_conv_template(name)

    def render(turns, ask):
        conv.messages = []
        for i, text in enumerate([*turns, None] if ask else turns):
            conv.append_message(conv.roles[i % 2], text)
        return conv.get_prompt()

    return render


def jinja_renderer(source):
    pytest.importorskip("jinja2")
    from datagen.curricula.chat import JinjaChatTemplate

    template = JinjaChatTemplate("test", source)
    return lambda turns, ask: template.render(turns, add_generation_prompt=ask)


def chatml_source():
    from datagen.curricula.chat import CHATML

    return CHATML


# the renderer each registered format stands for: a new format adds its real renderer here
RENDERERS = {
    "vicuna_v1.1": lambda: fastchat_renderer("vicuna_v1.1"),
    "chatml": lambda: jinja_renderer(chatml_source()),
}


def test_every_registered_format_has_its_renderer_here():
    assert set(FORMATS) == set(RENDERERS)


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_the_prompt_trained_on_is_the_prompt_asked_and_what_echo_removal_strips(name):
    fmt = get_format(name)
    render = RENDERERS[name]()
    assert format_from_rendering(name, render) == fmt
    for template in ("raw", "alpaca_zh"):
        turn = human_turn(template, PROBLEM)
        trained = render([turn, ANSWER], False)
        asked = inference_prompt(template, PROBLEM, name)
        assert asked == fmt.prompt(turn) == render([turn], True)
        assert trained == fmt.training_text([turn, ANSWER])
        assert trained.startswith(asked)
        rest = trained[len(asked):]
        assert rest == fmt.answer_lead + ANSWER + fmt.end
        assert fmt.strip_echo(trained, turn) == rest
        assert remove_echo(trained, PROBLEM, template) == rest
        # a second round: the prompt asked after one answered pair is the training text up to its answer
        two = render([turn, ANSWER, turn, "2"], False)
        assert two.startswith(fmt.prompt(turn, [turn, ANSWER]))


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_scoring_cuts_at_each_formats_stops_and_end(name):
    fmt = get_format(name)
    assert set(fmt.stops) <= set(PROMPT_STARTS)
    assert fmt.end.strip() in END_TOKENS
    nxt = fmt.training_text([human_turn("raw", "another"), "7"])[len(fmt.system):]
    from datagen.eval.score import cut_continuation

    assert cut_continuation(" 1835.05" + fmt.end + nxt).strip() == "1835.05"


def test_end_markers_include_the_tokenizers_end_tokens():
    assert {"<|end_of_text|>", "<|eot_id|>", "</s>", "<|im_end|>"} <= set(end_markers())


def test_a_tokenizer_names_its_format():
    assert format_for_tokenizer("llama3") is get_format("vicuna_v1.1")
    assert format_for_tokenizer(None) is get_format()
    with pytest.raises(ChatFormatError, match="unknown chat template 'nope'"):
        get_format("nope")


def test_a_format_is_registered_once():
    vicuna = get_format("vicuna_v1.1")
    assert register_format(vicuna) is vicuna  # the same format again is fine
    other = PromptFormat("vicuna_v1.1", "", "Q: ", " A:", " ", "\n")
    with pytest.raises(ChatFormatError, match="registered already"):
        register_format(other)
    assert get_format("vicuna_v1.1") is vicuna


def test_a_template_whose_generation_prompt_differs_from_its_training_text_is_refused():
    def render(turns, ask):  # asks with "Bot:" but trains with "Assistant:"
        text = "".join(f"User: {q}\nAssistant: {a}\n" for q, a in zip(turns[::2], turns[1::2]))
        return text + (f"User: {turns[-1]}\nBot:" if ask else "")

    with pytest.raises(ChatFormatError):
        format_from_rendering("odd", render)


def test_every_prompt_template_renders_under_the_default_format():
    fmt = get_format()
    for name, template in TEMPLATES.items():
        if name == "bare":
            continue
        assert inference_prompt(name, PROBLEM) == fmt.system + fmt.user + template.render(PROBLEM) + fmt.assistant
