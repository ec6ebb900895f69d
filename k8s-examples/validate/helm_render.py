"""Renders the example Helm chart without Helm (Debian has no helm package).

Only the subset of Go templates the chart uses is understood, and anything
else is an error naming the template and the construct, so the chart cannot
drift into syntax this renderer would get wrong:

  {{ .Values.a.b }}  {{ .Release.Name }}  {{ .Release.Namespace }}
  {{ .Chart.Name }}  {{ .Chart.Version }}  {{ .Chart.AppVersion }}
  pipes: | quote   | default "x"
  {{- ... -}} whitespace trimming, {{/* comments */}}

`helm template RELEASE CHART -n NAMESPACE` renders the same text.
"""
import json
import os
import re

import yaml

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)


class TemplateError(ValueError):
    pass


def _lookup(ctx, path, where):
    cur = ctx
    for part in path.split(".")[1:]:
        if not isinstance(cur, dict) or part not in cur:
            raise TemplateError("%s: %s is not defined" % (where, path))
        cur = cur[part]
    return cur


def _literal(text, where):
    if text.startswith('"') and text.endswith('"'):
        return json.loads(text)
    raise TemplateError("%s: unsupported argument %r" % (where, text))


def _eval(expr, ctx, where):
    stages = [s.strip() for s in expr.split("|")]
    head = stages[0]
    if re.fullmatch(r"\.(Values|Release|Chart)(\.[A-Za-z_][A-Za-z0-9_]*)+", head):
        try:
            value = _lookup(ctx, head, where)
        except TemplateError:
            value = None
            if not any(s.startswith("default ") for s in stages[1:]):
                raise
    else:
        value = _literal(head, where)
    for fn in stages[1:]:
        if fn == "quote":
            value = json.dumps("" if value is None else str(value))
        elif fn.startswith("default "):
            if value in (None, "", 0, False):
                value = _literal(fn[len("default "):].strip(), where)
        else:
            raise TemplateError("%s: unsupported function %r" % (where, fn))
    if isinstance(value, (dict, list)):
        raise TemplateError("%s: %s is not a scalar" % (where, head))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def render_text(text, ctx, where):
    out, pos = [], 0
    for m in _ACTION.finditer(text):
        chunk = text[pos:m.start()]
        if m.group(1):
            chunk = chunk.rstrip()
        out.append(chunk)
        expr = m.group(2)
        if not (expr.startswith("/*") and expr.endswith("*/")):
            out.append(_eval(expr, ctx, where))
        pos = m.end()
        if m.group(3):
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
    out.append(text[pos:])
    rendered = "".join(out)
    if "{{" in rendered or "}}" in rendered:
        raise TemplateError("%s: unbalanced template braces" % where)
    return rendered


def context(chart_dir, release, namespace, values=None):
    with open(os.path.join(chart_dir, "Chart.yaml")) as f:
        chart = yaml.safe_load(f)
    with open(os.path.join(chart_dir, "values.yaml")) as f:
        vals = yaml.safe_load(f) or {}
    vals.update(values or {})
    return {"Values": vals, "Release": {"Name": release, "Namespace": namespace},
            "Chart": {"Name": chart["name"], "Version": chart["version"],
                      "AppVersion": chart.get("appVersion", "")}}


def chart_dir_of(path):
    """The chart directory of a template path (CHART/templates/x.yaml), or None."""
    d = os.path.dirname(os.path.abspath(path))
    if os.path.basename(d) == "templates" and os.path.exists(os.path.join(d, "..", "Chart.yaml")):
        return os.path.dirname(d)
    return None


def render_file(path, release="RELEASE-NAME", namespace="default", values=None):
    ctx = context(chart_dir_of(path), release, namespace, values)
    with open(path) as f:
        return render_text(f.read(), ctx, path)


def render(chart_dir, release="RELEASE-NAME", namespace="default", values=None):
    """Every template of the chart rendered and parsed: a list of objects."""
    objs = []
    tdir = os.path.join(chart_dir, "templates")
    for name in sorted(os.listdir(tdir)):
        if name.endswith((".yaml", ".yml")):
            text = render_file(os.path.join(tdir, name), release, namespace, values)
            objs += [o for o in yaml.safe_load_all(text) if o]
    return objs
