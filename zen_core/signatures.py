"""What a step's signature means: its parameters, its outputs and their types.

Rules (SPEC §2): ``-> Tuple[A, B]`` is several outputs when the function returns a
tuple literal (``return a, b``), and one tuple output when it returns a variable
(``return some_tuple``), as ZenML's ``has_tuple_return`` decides; a bare ``tuple``,
``Tuple[A, ...]`` or ``Annotated[tuple[...], "x"]`` is one; ``-> None`` is none.
Without an annotation, a tuple literal in every ``return`` means several outputs.
Type checks follow ``isinstance`` on the outer type.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Union, get_args, get_origin

import attrs

from zen_core.artifacts.artifact_config import ArtifactConfig
from zen_core.errors import CompositionError
from zen_core.hashing import new_hasher


@attrs.frozen
class OutputSpec:
    name: str  # may hold {placeholders}
    annotation: Any  # None when unannotated / Any / object: chosen at run time
    config: ArtifactConfig | None = None
    named: bool = False  # named by the user; else stored as {pipeline}::{step}::{output}


@attrs.frozen
class StepSignature:
    parameters: dict[str, inspect.Parameter]
    annotations: dict[str, Any]  # parameter name -> outer annotation (None: anything)
    outputs: tuple[OutputSpec, ...]
    unannotated_return: bool  # an unannotated step returning None has no output
    source_hash: str
    # for binding calls while composing: the parameters without annotations, and whether
    # each is an ordinary named one (then a plain call binds without inspect, see below)
    call_signature: inspect.Signature = attrs.field(init=False, eq=False, repr=False)
    _plain: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        params = list(self.parameters.values())
        object.__setattr__(self, "call_signature", inspect.Signature(params))
        object.__setattr__(self, "_plain", all(
            p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params))

    def plain_arguments(self, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """What ``call_signature.bind(*args, **kwargs).arguments`` gives, for a call that
        fits a signature of ordinary named parameters; ``None`` when ``inspect`` must bind
        it (``*args``, positional-only parameters, or a call that does not fit, whose
        error inspect words). Binding is most of composing a long pipeline."""
        if not self._plain:
            return None
        params = self.parameters
        if len(args) > len(params) or not kwargs.keys() <= params.keys():
            return None
        bound: dict[str, Any] = {}
        for i, (name, param) in enumerate(params.items()):
            if i < len(args):
                if param.kind is not param.POSITIONAL_OR_KEYWORD or name in kwargs:
                    return None
                bound[name] = args[i]
            elif name in kwargs:
                bound[name] = kwargs[name]
            elif param.default is param.empty:
                return None  # missing: inspect says which
        return bound


def parse_step(func: Callable[..., Any], step_name: str) -> StepSignature:
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:  # unresolvable forward reference
        raise CompositionError(
            f"step {step_name!r}: cannot resolve its type annotations ({exc}). Fix: import "
            f"the names used in annotations at module level.", step=step_name,
        ) from exc
    sig = inspect.signature(func)
    annotations = {name: _strip(hints[name]) for name in sig.parameters if name in hints}
    if "return" not in hints:
        count = _tuple_return_count(func)
        outputs = (tuple(OutputSpec(f"output_{i}", None) for i in range(count)) if count > 1
                   else (OutputSpec("output", None),))
        return StepSignature(dict(sig.parameters), annotations, outputs, True, source_hash(func))
    return StepSignature(dict(sig.parameters), annotations, _outputs(hints["return"], func),
                         False, source_hash(func))


def _outputs(ret: Any, func: Callable[..., Any]) -> tuple[OutputSpec, ...]:
    if ret is None or ret is type(None):
        return ()
    base, name, config = _unwrap(ret)
    if name is None and _is_multi_tuple(base) and _has_tuple_return(func):
        specs = []
        for i, arg in enumerate(get_args(base)):
            arg_base, arg_name, arg_config = _unwrap(arg)
            specs.append(OutputSpec(f"output_{i}" if arg_name is None else arg_name, _strip(arg_base), arg_config,
                                    named=arg_name is not None))
        names = [s.name for s in specs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise CompositionError(f"output name {duplicates[0]!r} is used twice in {ret!r}. "
                                   f"Fix: give each output its own name.", name=duplicates[0])
        return tuple(specs)
    return (OutputSpec("output" if name is None else name, _strip(base), config,
                       named=name is not None),)


def _unwrap(annotation: Any) -> tuple[Any, str | None, ArtifactConfig | None]:
    """``Annotated[T, "name" | ArtifactConfig]`` -> ``(T, name, config)``."""
    if get_origin(annotation) is Annotated:
        base, *extras = get_args(annotation)
        for extra in extras:
            if isinstance(extra, ArtifactConfig):
                return base, extra.name, extra
            if isinstance(extra, str):
                return base, extra, None
        return base, None, None
    return annotation, None, None


def _is_multi_tuple(annotation: Any) -> bool:
    if get_origin(annotation) is not tuple:
        return False
    args = get_args(annotation)
    return bool(args) and not (len(args) == 2 and args[1] is Ellipsis) and args != ((),)


def _strip(annotation: Any) -> Any:
    """The annotation to check and pick a materializer by; ``None`` accepts anything."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if annotation in (Any, object, inspect.Parameter.empty) or isinstance(annotation, typing.TypeVar):
        return None
    return annotation


def materializer_type(annotation: Any) -> type | None:
    """The class whose MRO picks the materializer, or ``None`` to decide by value."""
    if annotation is None:
        return None
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType, typing.Literal):
        return None
    target = origin or annotation
    return target if isinstance(target, type) else None


def check_type(value: Any, annotation: Any) -> bool:
    """``isinstance`` on the outer type: origins of generics, any member of a Union."""
    if annotation is None:
        return True
    if annotation is type(None):
        return value is None
    origin = get_origin(annotation)
    if origin is Annotated:
        return check_type(value, get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(check_type(value, a) for a in get_args(annotation))
    if origin is typing.Literal:
        return value in get_args(annotation)
    target = origin or annotation
    try:
        return isinstance(value, target)
    except TypeError:  # protocols, NewType and other typing constructs
        return True


def conform(value: Any, annotation: Any) -> tuple[bool, Any]:
    """``(matches, value)``: :func:`check_type`, plus the one widening SPEC §6 allows: an
    ``int`` (not a ``bool``) where ``float`` is annotated becomes ``float(value)``."""
    if check_type(value, annotation):
        return True, value
    if type(value) is int and _accepts_float(annotation):
        return True, float(value)
    return False, value


def _accepts_float(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _accepts_float(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_accepts_float(a) for a in get_args(annotation))
    return annotation is float


def type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__ if annotation.__module__ == "builtins" else (
            f"{annotation.__module__}.{annotation.__qualname__}")
    return repr(annotation).replace("typing.", "")


def _returns(func: Callable[..., Any]) -> list[ast.Return] | None:
    """The ``return`` statements of ``func`` itself (not of functions nested in it);
    ``None`` when its source cannot be read."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return None
    fn = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)),
              None)
    if fn is None:
        return None
    returns: list[ast.Return] = []
    stack = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Return):
            returns.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return returns


def _has_tuple_return(func: Callable[..., Any]) -> bool:
    """Whether a ``return`` gives a tuple literal of two or more values (ZenML's
    ``has_tuple_return``): under ``-> Tuple[A, B]`` that means several outputs, while
    ``return some_tuple`` means one tuple output. Without source the annotation decides."""
    returns = _returns(func)
    if returns is None:
        return True
    return any(isinstance(r.value, ast.Tuple) and len(r.value.elts) > 1 for r in returns)


def _tuple_return_count(func: Callable[..., Any]) -> int:
    """N when every ``return`` is an N-tuple literal (N > 1), else 1."""
    returns = _returns(func)
    if not returns:
        return 1
    lengths = {len(r.value.elts) for r in returns if isinstance(r.value, ast.Tuple)}
    if all(isinstance(r.value, ast.Tuple) for r in returns) and len(lengths) == 1:
        count = lengths.pop()
        return count if count > 1 else 1
    return 1


def source_hash(func: Callable[..., Any]) -> str:
    """Hash of the step's source (falls back to bytecode when source is unavailable)."""
    h = new_hasher()
    try:
        h.update(textwrap.dedent(inspect.getsource(func)).encode())
    except (OSError, TypeError):
        code = getattr(func, "__code__", None)
        h.update(code.co_code if code else repr(func).encode())
        if code:
            h.update(repr(code.co_consts).encode())
    return h.hexdigest()
