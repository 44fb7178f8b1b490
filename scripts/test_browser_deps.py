"""Make sure Debian's chromium is present for the browser tests (installs it when root).

The browser tests drive /usr/bin/chromium; Playwright's own browser download cannot work here.
Nothing is installed when chromium is already there. Otherwise only chromium and what it
depends on, with ``--no-install-recommends`` (with recommends, apt pulled in 125 packages,
among them avahi, samba and printer tools, and upgraded systemd).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

if shutil.which("chromium") or os.environ.get("VOUCH_SKIP_BROWSER_INSTALL") == "1":
    sys.exit(0)
if os.geteuid() != 0:
    print("chromium is missing and this is not root: install Debian's chromium package",
          file=sys.stderr)
    sys.exit(0)
print("installing Debian's chromium for the browser tests ...", file=sys.stderr)
env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
               check=True, env=env)
