#!/usr/bin/env python3
"""Builds an installable WordPress plugin zip, byte-for-byte reproducible.

    python3 infra/wordpress/plugin-zip.py infra/wordpress/plugins/igny8-connector dist/igny8-connector.zip

The zip holds one top-level folder named after the plugin directory (what
wp-admin's Upload Plugin expects) with every regular file under it except
dotfiles, in sorted order, with a fixed timestamp and fixed permissions, so
the same sources always give the same bytes. Prints the file list.
"""

import os
import sys
import zipfile

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold


def plugin_files(src):
    files = []
    for root, dirs, names in os.walk(src):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            path = os.path.join(root, name)
            if name.startswith(".") or not os.path.isfile(path):
                continue
            files.append(os.path.relpath(path, src).replace(os.sep, "/"))
    return sorted(files)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: plugin-zip.py PLUGIN_DIR OUT.zip")
    src, out = argv[1].rstrip("/"), argv[2]
    top = os.path.basename(src)
    files = plugin_files(src)
    if not any(f.endswith(".php") and "/" not in f for f in files):
        sys.exit(f"plugin-zip.py: {src} has no top-level PHP file")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w") as zf:
        for rel in files:
            info = zipfile.ZipInfo(f"{top}/{rel}", date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the permissions below apply
            info.external_attr = 0o100644 << 16
            with open(os.path.join(src, rel), "rb") as f:
                zf.writestr(info, f.read(), compresslevel=9)
    os.replace(tmp, out)
    for rel in files:
        print(f"  {top}/{rel}")
    print(f"{out}: {len(files)} files, {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main(sys.argv)
