"""Links between the chapters' code and the API reference page (book/api.md).

- A docstring may name another public object briefly (``:func:`fit_sevecs``` inside
  ``sevec_helpers.sevecs.accumulator``): a Python cross-reference Sphinx cannot resolve in the
  object's own module is resolved to the one documented object whose full name ends with
  that name (``sevec_helpers.fit_sevecs``), so short names work everywhere and nitpicky
  builds stay clean. A name that matches none, or several, stays unresolved (and warns).
- In every page's code cells, the first use of each documented public function or class
  (``sh.fit_sevecs(``, ``sh.SemanticVectors``)
  becomes a link to its entry, so a reader goes from the method to its parameters in one
  click. Only ``sh.<name>`` is linked (``import sevec_helpers as sh`` is the book's
  convention; a local variable that happens to be called ``accuracy`` is not), and only its
  first use per page: the code stays readable.
"""

from __future__ import annotations

import html
import re

from docutils import nodes

API_PAGE = "book/api"
PUBLIC_PREFIX = "sevec_helpers."


def _documented(env) -> dict[str, str]:
    """Full name -> object type of every Python object documented in the book."""
    return {name: obj.objtype for name, obj in env.get_domain("py").objects.items()}


def resolve_short_names(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target:
        return None
    # a full module path to a re-exported name (sevec_helpers.attribution.saliency.attribute) means the
    # public entry (sevec_helpers.attribute); any other name is looked up by its last parts
    short = target.lstrip(".~").split(".")[-1] if target.startswith(PUBLIC_PREFIX) else target.lstrip(".~")
    kinds = {"func": ("function",), "meth": ("method",), "class": ("class", "exception"),
             "attr": ("attribute", "property"), "data": ("data",)}.get(node.get("reftype"))
    found = [name for name, objtype in _documented(env).items()
             if (name == PUBLIC_PREFIX + short or name.endswith("." + short)) and (kinds is None or objtype in kinds)]
    # prefer the top-level public name (sevec_helpers.X) over a module's copy
    top = [n for n in found if n == PUBLIC_PREFIX + short]
    found = top or found
    if len(found) != 1:
        return None
    name = found[0]
    docname = env.get_domain("py").objects[name].docname
    uri = app.builder.get_relative_uri(node["refdoc"], docname) + "#" + name
    ref = nodes.reference("", "", internal=True, refuri=uri, reftitle=name)
    ref.append(contnode)
    return ref


# ``sh.name`` in Pygments' HTML: <span class="n">sh</span><span class="o">.</span><span class="n">name</span>
_NAME = re.compile(r'(<span class="n">sh</span><span class="o">\.</span>)<span class="n">([A-Za-z_][A-Za-z0-9_]*)</span>')


def _public_names(env) -> dict[str, str]:
    """Short name -> full name, for the top-level public API documented on the API page."""
    out = {}
    for name, obj in env.get_domain("py").objects.items():
        if obj.docname != API_PAGE or obj.objtype not in ("function", "class"):
            continue
        if name.count(".") == 1 and name.startswith(PUBLIC_PREFIX):
            out[name[len(PUBLIC_PREFIX):]] = name
    return out


def link_first_uses(app, pagename, templatename, context, doctree):
    if doctree is None or pagename == API_PAGE or "body" not in context:
        return
    public = _public_names(app.env)
    if not public:
        return
    api_uri = app.builder.get_relative_uri(pagename, API_PAGE)
    body = context["body"]
    seen: set[str] = set()

    def code_block(m: re.Match) -> str:
        block = m.group(0)

        def name(n: re.Match) -> str:
            short = n.group(2)
            if short not in public or short in seen:
                return n.group(0)
            seen.add(short)
            full = public[short]
            return (f'{n.group(1)}<a class="api-link reference internal" href="{api_uri}#{html.escape(full)}" '
                    f'title="{html.escape(full)} in the API reference"><span class="n">{short}</span></a>')
        return _NAME.sub(name, block)

    # only inside highlighted code (notebook input cells and code blocks)
    context["body"] = re.sub(r'<div class="highlight">.*?</div>', code_block, body, flags=re.S)


def setup(app):
    app.connect("missing-reference", resolve_short_names)
    app.connect("html-page-context", link_first_uses)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

