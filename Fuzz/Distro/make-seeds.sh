#!/usr/bin/env bash
# Writes the seed inputs of the distro fuzz targets into Fuzz/corpus/{debindex,decompress,rpm,archdb,mirrorlist}/:
# small real-shaped indexes, made with the usual command-line tools (gzip, xz, zstd, bsdtar). Run from anywhere;
# existing seeds of the same name are overwritten, merged finds are left alone.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
corpus="$root/Fuzz/corpus"
mkdir -p "$corpus"/{debindex,decompress,rpm,archdb,mirrorlist}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000 TZ=UTC

hash_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
h1=$(hash_of hello)
h2=$(hash_of world)
h3=$(hash_of dsc)

# --- debindex: Packages, Sources, Release ---------------------------------------------------------------------
cat > "$corpus/debindex/packages" <<EOF
Package: hello
Version: 2.10-3
Architecture: amd64
Description: example package based on GNU hello
 The GNU hello program produces a familiar, friendly greeting.
 .
 It is a sample.
Filename: pool/main/h/hello/hello_2.10-3_amd64.deb
Size: 53036
SHA256: $h1

Package: libfoo1
Filename: pool/main/f/foo/libfoo1_1.0_amd64.deb
Size: 12
SHA256: $h2

EOF
printf 'Package: crlf\r\nFilename: pool/c/crlf_1_all.deb\r\nSize: 1\r\nSHA256: %s\r\n\r\n# comment\r\nPackage: broken\r\n no colon here\r\n' \
    "$h1" > "$corpus/debindex/packages-crlf"
cat > "$corpus/debindex/sources" <<EOF
Package: hello
Binary: hello
Version: 2.10-3
Directory: pool/main/h/hello
Checksums-Sha256:
 $h3 1847 hello_2.10-3.dsc
 $h1 725946 hello_2.10.orig.tar.gz
 $h2 12688 hello_2.10-3.debian.tar.xz

EOF
cat > "$corpus/debindex/release" <<EOF
Origin: Debian
Label: Debian
Suite: stable
Version: 12.5
Codename: bookworm
Date: Sat, 10 Feb 2024 09:37:55 UTC
Valid-Until: Sat, 17 Feb 2024 09:37:55 +0000
Acquire-By-Hash: yes
Architectures: all amd64 arm64
Components: main contrib non-free-firmware
Description: Debian 12.5 Released 10 February 2024
SHA256:
 $h1   1234 main/binary-amd64/Packages
 $h2    456 main/binary-amd64/Packages.xz
 $h3     78 main/source/Sources.gz
EOF

# --- decompress: first byte picks the format (0 gzip, 1 xz, 2 zstd mod 3) and the chunk size ----------------
text='Package: hello
Filename: pool/main/h/hello/hello_2.10-3_amd64.deb
Size: 53036

'
{ printf '\x00'; printf '%s' "$text" | gzip -9n; } > "$corpus/decompress/gzip"
{ printf '\x0c'; printf '%s' "$text" | gzip -1n; printf '\0\0'; printf 'x' | gzip -n; } > "$corpus/decompress/gzip-concat"
{ printf '\x01'; printf '%s' "$text" | xz -6 --check=crc64; } > "$corpus/decompress/xz"
{ printf '\x1c'; printf '%s' "$text" | xz --check=sha256 -0; printf 'y' | xz --check=none; } > "$corpus/decompress/xz-concat"
{ printf '\x02'; printf '%s' "$text" | zstd -q -19 -c; } > "$corpus/decompress/zstd"
{ printf '\xfe'; printf '%s' "$text" | zstd -q -1 -c --no-check; } > "$corpus/decompress/zstd-whole"
{ printf '\x0e'; head -c 4096 /dev/zero | zstd -q -c; } > "$corpus/decompress/zstd-zeros"

# --- rpm: repomd.xml, primary.xml (plain and gzip) -----------------------------------------------------------
cat > "$corpus/rpm/repomd.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1700000000</revision>
  <data type="primary">
    <checksum type="sha256">$h1</checksum>
    <open-checksum type="sha256">$h2</open-checksum>
    <location href="repodata/$h1-primary.xml.gz"/>
    <timestamp>1700000000</timestamp>
    <size>1234</size>
    <open-size>5678</open-size>
  </data>
  <data type="filelists">
    <checksum type="sha256">$h3</checksum>
    <location href="repodata/$h3-filelists.xml.gz"/>
    <timestamp>1700000001.5</timestamp>
    <size>99</size>
  </data>
</repomd>
EOF
cat > "$work/primary.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm">
  <name>hello</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="2.12" rel="1.fc39"/>
  <checksum type="sha256" pkgid="YES">$h1</checksum>
  <summary>Prints a familiar, friendly greeting</summary>
  <size package="86432" installed="190000" archive="191000"/>
  <location href="Packages/h/hello-2.12-1.fc39.x86_64.rpm"/>
  <format><rpm:license>GPLv3+</rpm:license></format>
</package>
<package type="rpm">
  <name>bad</name>
  <checksum type="sha1" pkgid="YES">0123</checksum>
  <size package="1"/>
  <location xml:base="http://elsewhere.example/" href="Packages/b/bad.rpm"/>
</package>
</metadata>
EOF
cp "$work/primary.xml" "$corpus/rpm/primary.xml"
gzip -9n < "$work/primary.xml" > "$corpus/rpm/primary.xml.gz"
zstd -q -c < "$work/primary.xml" > "$corpus/rpm/primary.xml.zst"

# --- archdb: repository databases made with bsdtar ------------------------------------------------------------
mkdir -p "$work/db/hello-2.12-1" "$work/db/zlib-1:1.3-1" "$work/db/nodesc-1-1"
printf '%%FILENAME%%\nhello-2.12-1-x86_64.pkg.tar.zst\n\n%%NAME%%\nhello\n\n%%VERSION%%\n2.12-1\n\n%%CSIZE%%\n53036\n\n%%SHA256SUM%%\n%s\n\n%%ARCH%%\nx86_64\n\n' \
    "$h1" > "$work/db/hello-2.12-1/desc"
printf '%%FILENAME%%\r\nzlib-1:1.3-1-x86_64.pkg.tar.zst\r\n\r\n%%NAME%%\r\nzlib\r\n\r\n%%CSIZE%%\r\n9\r\n\r\n%%SHA256SUM%%\r\n%s\r\n' \
    "$h2" > "$work/db/zlib-1:1.3-1/desc"
printf '%%FILES%%\nusr/\nusr/bin/\n' > "$work/db/nodesc-1-1/files"
find "$work/db" -exec touch -h -d @1700000000 {} +
(cd "$work/db" && bsdtar --format=ustar -cf - hello-2.12-1 zlib-1:1.3-1) | gzip -9n > "$corpus/archdb/core.db.tar.gz"
(cd "$work/db" && bsdtar --format=ustar --xz -cf "$corpus/archdb/core.db.tar.xz" hello-2.12-1 nodesc-1-1)
(cd "$work/db" && bsdtar --format=ustar --zstd -cf "$corpus/archdb/core.db.tar.zst" hello-2.12-1)
(cd "$work/db" && bsdtar --format=ustar -cf "$corpus/archdb/core.db.tar" zlib-1:1.3-1)

# --- mirrorlist: plain, Debian masterlist, Arch mirrorlist, Metalink; sync markers ---------------------------
cat > "$corpus/mirrorlist/plain" <<'EOF'
# mirrors
https://mirror.example.org/fedora/linux/
http://MIRROR2.example.net:8080/pub   # trailing comment
ftp://ftp.example.com/pub/
https://user@host.example/x
https://[2001:db8::1]/debian
EOF
cat > "$corpus/mirrorlist/masterlist" <<'EOF'
Site: ftp.de.debian.org
Type: Push-Primary
Archive-architecture: amd64 arm64
Archive-http: /debian/
Archive-https: /debian/
Country: DE Germany

Site: mirror.example.net
Archive-http: /pub/debian
Includes: other

Site: ftp.example.org
Archive-ftp: /debian/
EOF
cat > "$corpus/mirrorlist/arch" <<'EOF'
##
## Arch Linux repository mirrorlist
## Generated on 2024-02-10
##

## Germany
#Server = https://mirror.example.de/archlinux/$repo/os/$arch
Server = https://geo.mirror.pkgbuild.com/$repo/os/$arch
Server=http://mirror.example.org/arch/$repo/os/$arch
Server = https://bad.example/$unknown/os
Include = /etc/pacman.d/other
[core]
EOF
cat > "$corpus/mirrorlist/metalink" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" pubdate="Sat, 10 Feb 2024 09:00:00 GMT">
 <files>
  <file name="repomd.xml">
   <verification><hash type="sha256">$h1</hash></verification>
   <resources maxconnections="1">
    <url protocol="https" type="https" location="DE" preference="100">https://mirror.example.de/fedora/linux/updates/39/Everything/x86_64/repodata/repomd.xml</url>
    <url protocol="http" type="http" location="US" preference="99">http://mirror.example.com/pub/f/repomd.xml</url>
    <url protocol="rsync" type="rsync" location="US" preference="98">rsync://mirror.example.com/f/repodata/repomd.xml</url>
   </resources>
  </file>
 </files>
</metalink>
EOF
printf 'Sat Feb 10 09:37:55 UTC 2024\nUsed ftpsync version: 20180513\nDate: Sat, 10 Feb 2024 09:37:55 +0000\nCreator: ftpsync\n' \
    > "$corpus/mirrorlist/trace"
printf '1707557875\n' > "$corpus/mirrorlist/lastupdate"

du -ck "$corpus"/{debindex,decompress,rpm,archdb,mirrorlist} | tail -1
