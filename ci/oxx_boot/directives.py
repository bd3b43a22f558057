"""The `#@` lines of a config: how ci/test and ci/bench run it (one parser for both).

A config is an ImageBuilder file (docs/imagebuilder.md); lines starting `#@` are comments to
ImageBuilder and options to our runners. Every directive, its value and its default:

  #@ mode uboot|dtb            boot path (dtb)
  #@ timeout SECONDS           per boot (ci/test 60, ci/bench 600)
  #@ gic 2|3                   QEMU's GIC version (2)
  #@ builds B...               the builds it runs on (every build asked for); B also names
                               the development variants B-* (rust -> rust-evtchn)
  #@ xfail B...                expected to FAIL (FAILURE or a Xen crash) on those builds
  #@ xfail-test TEST B...      the same for that one guest test only (the config's other
                               tests must pass): a defect one domain reports
  #@ expect TEST STATUS        that guest must report exactly STATUS (tests of the runner)
  #@ expect B[,B...] TEST STATUS
                               the same on those builds only: how a config records that one
                               release's C differs from another's for one of its tests
                               (`#@ expect c@4.22 evtchn-bind-vcpu FAILURE`, with the reason in
                               a comment), while its other tests keep their expectations
  #@ expect-log B REGEX        a boot-log test on build B (repeatable; `!REGEX`: must not
                               match; grep -E syntax)
  #@ compare-builds REGEX      console lines matching REGEX (grep -E) must agree between builds
  #@ lax yes                   boot with ci/boot --lax
  #@ icount yes                boot with ci/boot --icount
  #@ fuzz-trace yes            trace the first divergence (ci/fuzz-diverge)
  #@ boots N                   ci/bench: boots per op config (its default)

A build B in `builds`, `xfail`, `xfail-test`, `expect` and `expect-log` may name a Xen version,
B@V (V a row of ci/xen-versions): it then counts only when the runners work on Xen V
(`--xen-version V`), and B alone counts on every version. So a difference of one release's C from another's is recorded
where the test is, e.g. `#@ xfail c@4.17` (C 4.17.5 crashes; 4.22's C has the fix), or
`#@ expect-log c@4.22 REGEX` next to `#@ expect-log c@4.17 REGEX` when the two releases refuse a
config with other words. parse() resolves them for one version: what it returns names plain
builds only.

An unknown directive or a malformed value is an error naming the file and line: a typo must
not silently turn an option off.

Command line (for the shell runner):
  directives.py shell CFG [VERSION]
                              the options for Xen VERSION (default: OXX_XEN_VERSION, else the
                              first of ci/xen-versions) as shell assignments (eval them), plus
                              CFG_TESTS=(...), the guest test each domain runs (dom0's,
                              from DOM0_CMD, first when DOM0_KERNEL is set; then each
                              domU's in domain order) and CFG_DOMIDS=(...), their domids
"""

import re
import shlex
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

try:
    from . import xen_version as _xen_version
except ImportError:             # run as a script
    import xen_version as _xen_version  # type: ignore


class DirectiveError(Exception):
    pass


@dataclass
class Directives:
    path: str
    mode: str = "dtb"
    timeout: Optional[float] = None
    gic: int = 2
    builds: Optional[List[str]] = None
    xfail: List[str] = field(default_factory=list)
    xfail_tests: Dict[str, List[str]] = field(default_factory=dict)
    expect: Dict[str, str] = field(default_factory=dict)
    # `#@ expect B TEST STATUS`: (build, test) -> status, for the version parsed.
    expect_on: Dict[Tuple[str, str], str] = field(default_factory=dict)
    expect_log: List[Tuple[str, str]] = field(default_factory=list)
    compare_builds: Optional[str] = None
    lax: bool = False
    icount: bool = False
    fuzz_trace: bool = False
    boots: Optional[int] = None
    tests: List[str] = field(default_factory=list)
    domids: List[int] = field(default_factory=list)     # tests[i] runs in domids[i]

    def names_variant(self, builds: Optional[List[str]], variant: str) -> bool:
        return names_variant(builds, variant)

    def runs_on(self, variant: str) -> bool:
        """Whether `#@ builds` (default: every build) includes this variant."""
        return self.builds is None or names_variant(self.builds, variant)

    def expect_logs(self, variant: str) -> List[str]:
        """The expect-log regexes for a variant: an exact key wins over its prefix (rust-x
        over rust)."""
        exact = [r for b, r in self.expect_log if b == variant]
        if exact:
            return exact
        return [r for b, r in self.expect_log if b == variant.split("-")[0]]

    def expected(self, variant: str, test: str) -> Optional[str]:
        """The status a test must report on a variant: an `expect` for that build (exact key,
        then its prefix: rust-x, then rust), else the unqualified one."""
        for b in (variant, variant.split("-")[0]):
            if (b, test) in self.expect_on:
                return self.expect_on[(b, test)]
        return self.expect.get(test)

    @property
    def is_log_test(self) -> bool:
        return bool(self.expect_log)


def names_variant(builds: Optional[List[str]], variant: str) -> bool:
    """Does a list of builds name `variant`? X names X and X-*."""
    if builds is None:
        return True
    return any(b == variant or variant.split("-")[0] == b for b in builds)


STATUSES = ("SUCCESS", "SKIP", "ERROR", "FAILURE", "TIMEOUT", "CRASH")


def _yes(v: str, where: str) -> bool:
    if v != "yes":
        raise DirectiveError("%s: expected `yes`, got %r" % (where, v))
    return True


def _build_for(word: str, version: str, where: str) -> Optional[str]:
    """B@V -> B on version V, None on another; B -> B."""
    if "@" not in word:
        return word
    build, _, v = word.partition("@")
    known = _xen_version.names()
    if not build or v not in known:
        raise DirectiveError("%s: %r: a build names a Xen version as B@V, V one of %s"
                             % (where, word, ", ".join(known)))
    return build if v == version else None


def _builds_for(words: List[str], version: str, where: str) -> List[str]:
    out = []
    for w in words:
        b = _build_for(w, version, where)
        if b is not None:
            out.append(b)
    return out


def parse(path: str, version: Optional[str] = None) -> Directives:
    """The directives of a config as they apply to Xen `version` (default: OXX_XEN_VERSION,
    else the first of ci/xen-versions)."""
    version = _xen_version.get(version).name
    d = Directives(path)
    cmds: Dict[int, str] = {}
    ndomus = 0
    dom0_cmd: Optional[str] = None
    has_dom0 = False
    with open(path) as f:
        lines = f.read().splitlines()
    for no, line in enumerate(lines, 1):
        where = "%s:%d" % (path, no)
        m = re.match(r'\s*DOMU_CMD\[(\d+)\]\s*=\s*"([^"]*)"', line)
        if m:
            cmds[int(m.group(1))] = m.group(2)
        m = re.match(r'\s*DOM0_CMD\s*=\s*"([^"]*)"', line)
        if m:
            dom0_cmd = m.group(1)
        m = re.match(r'\s*DOM0_KERNEL\s*=\s*"?([^"\s]*)', line)
        if m:
            has_dom0 = bool(m.group(1))
        m = re.match(r'\s*NUM_DOMUS\s*=\s*"?(\d+)"?', line)
        if m:
            ndomus = int(m.group(1))
        if not line.startswith("#@"):
            continue
        m = re.match(r"#@\s*([a-z-]+)(?:\s+(.*\S))?\s*$", line)
        if not m or m.group(2) is None:
            raise DirectiveError("%s: a `#@` line needs a directive and a value: %r"
                                 % (where, line))
        key, val = m.group(1), m.group(2)
        words = val.split()
        try:
            if key == "mode":
                if val not in ("uboot", "dtb"):
                    raise DirectiveError("%s: mode is uboot or dtb, not %r" % (where, val))
                d.mode = val
            elif key == "timeout":
                d.timeout = float(val)
            elif key == "gic":
                if val not in ("2", "3"):
                    raise DirectiveError("%s: gic is 2 or 3, not %r" % (where, val))
                d.gic = int(val)
            elif key == "builds":
                d.builds = _builds_for(words, version, where)
            elif key == "xfail":
                d.xfail += _builds_for(words, version, where)
            elif key == "xfail-test":
                if len(words) < 2:
                    raise DirectiveError("%s: xfail-test TEST BUILD..." % where)
                builds = _builds_for(words[1:], version, where)
                if builds:
                    d.xfail_tests.setdefault(words[0], []).extend(builds)
            elif key == "expect":
                if len(words) not in (2, 3) or words[-1] not in STATUSES:
                    raise DirectiveError("%s: expect TEST STATUS, or expect BUILD[,BUILD...] "
                                         "TEST STATUS (STATUS one of %s)"
                                         % (where, ", ".join(STATUSES)))
                if len(words) == 2:
                    d.expect[words[0]] = words[1]
                else:
                    for b in _builds_for(words[0].split(","), version, where):
                        d.expect_on[(b, words[1])] = words[2]
            elif key == "expect-log":
                parts = val.split(None, 1)
                if len(parts) != 2:
                    raise DirectiveError("%s: expect-log BUILD REGEX" % where)
                b = _build_for(parts[0], version, where)
                if b is not None:
                    d.expect_log.append((b, parts[1]))
            elif key == "compare-builds":
                d.compare_builds = val
            elif key == "lax":
                d.lax = _yes(val, where)
            elif key == "icount":
                d.icount = _yes(val, where)
            elif key == "fuzz-trace":
                d.fuzz_trace = _yes(val, where)
            elif key == "boots":
                d.boots = int(val)
                if d.boots < 1:
                    raise ValueError(val)
            else:
                raise DirectiveError("%s: unknown directive `#@ %s` (see ci/oxx_boot/"
                                     "directives.py)" % (where, key))
        except ValueError:
            raise DirectiveError("%s: `#@ %s` takes a number, not %r" % (where, key, val))
    # The guest test each domain runs: dom0 (domid 0) first when the config has one, then
    # the domUs in domain order (domids 1..N); repeats numbered #2, #3.
    seen: Dict[str, int] = {}
    doms = [(0, dom0_cmd or "")] if has_dom0 else []
    doms += [(i + 1, cmds.get(i, "")) for i in range(ndomus)]
    for domid, cmd in doms:
        t = re.search(r"(?:^|\s)test=(\S+)", cmd)
        name = t.group(1) if t else "(none)"
        seen[name] = seen.get(name, 0) + 1
        d.tests.append(name if seen[name] == 1 else "%s#%d" % (name, seen[name]))
        d.domids.append(domid)
    return d


def shell(d: Directives) -> str:
    q = shlex.quote
    out = [
        "CFG_MODE=%s" % q(d.mode),
        "CFG_TIMEOUT=%s" % q("" if d.timeout is None else "%g" % d.timeout),
        "CFG_GIC=%d" % d.gic,
        "CFG_BUILDS=%s" % q("c rust" if d.builds is None else " ".join(d.builds)),
        "CFG_XFAIL=%s" % q(" ".join(d.xfail)),
        "declare -gA CFG_XFAIL_TEST=(%s)" % " ".join("[%s]=%s" % (q(k), q(" ".join(v)))
                                                     for k, v in d.xfail_tests.items()),
        "CFG_COMPARE=%s" % q(d.compare_builds or ""),
        "CFG_LAX=%s" % ("yes" if d.lax else ""),
        "CFG_ICOUNT=%s" % ("yes" if d.icount else ""),
        "CFG_FUZZ_TRACE=%s" % ("yes" if d.fuzz_trace else ""),
        "CFG_LOG_TEST=%s" % ("yes" if d.is_log_test else ""),
        "CFG_TESTS=(%s)" % " ".join(q(t) for t in d.tests),
        "CFG_DOMIDS=(%s)" % " ".join(str(i) for i in d.domids),
        "declare -gA CFG_EXPECT=(%s)" % " ".join("[%s]=%s" % (q(k), q(v))
                                                 for k, v in d.expect.items()),
        "declare -gA CFG_EXPECT_ON=(%s)" % " ".join("[%s]=%s" % (q(b + ":" + t), q(v))
                                                    for (b, t), v in d.expect_on.items()),
        "CFG_EXPECT_LOG_BUILDS=(%s)" % " ".join(q(b) for b, _ in d.expect_log),
        "CFG_EXPECT_LOG_RES=(%s)" % " ".join(q(r) for _, r in d.expect_log),
    ]
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) not in (3, 4) or argv[1] != "shell":
        sys.stderr.write("usage: directives.py shell CFG [VERSION]\n")
        return 2
    try:
        sys.stdout.write(shell(parse(argv[2], argv[3] if len(argv) == 4 else None)))
    except (DirectiveError, OSError, KeyError) as e:
        sys.stderr.write("error: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
