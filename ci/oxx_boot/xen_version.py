"""The Xen releases of ci/xen-versions, for the Python ci/ commands (ci/lib.sh reads the same
table for the shell ones): which versions exist, the default, and each one's source tarball,
patch series and work folder."""

import os
from dataclasses import dataclass
from typing import Dict, List, Optional

CI = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(CI)
TABLE = os.path.join(CI, "xen-versions")


@dataclass
class XenVersion:
    name: str
    source: str
    sha256: str
    patches: str        # the series folder, absolute
    workdir: str        # relative to $WORK; "." is $WORK itself

    def work(self, work: str) -> str:
        """$XEN_WORK: this version's tree, builds, boot folders and logs."""
        return work if self.workdir == "." else os.path.join(work, self.workdir)

    def tarball(self, work: str) -> str:
        """Where ci/setup keeps (debian:) or finds (shared:) the source tarball."""
        kind, _, rest = self.source.partition(":")
        if kind == "debian":
            return os.path.join(work, "src", rest.split("/", 1)[1])
        if kind == "shared":
            shared = os.environ.get("OXX_SHARED") or os.path.join(REPO, "..", "shared")
            return os.path.join(shared, rest)
        raise ValueError("ci/xen-versions: unknown source kind %r" % self.source)


def table() -> Dict[str, XenVersion]:
    out: Dict[str, XenVersion] = {}
    with open(TABLE) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, source, sha, patches, workdir = line.split()
            out[name] = XenVersion(name, source, sha, os.path.join(REPO, patches), workdir)
    return out


def names() -> List[str]:
    return list(table())


def default() -> str:
    return names()[0]


def get(name: Optional[str] = None) -> XenVersion:
    """A version by name; None: OXX_XEN_VERSION, else the default."""
    t = table()
    name = name or os.environ.get("OXX_XEN_VERSION") or default()
    if name not in t:
        raise KeyError("no Xen version %r (ci/xen-versions has: %s)" % (name, " ".join(t)))
    return t[name]
