#!/bin/sh
# get-data.sh - make sure the training text is there (used by `make data`).
#
# Looks for data/input.txt, then ../shared/data/tinyshakespeare.txt; if
# neither exists, downloads Tiny Shakespeare into data/input.txt and checks
# its sha256, so a truncated or altered download is never trained on.
set -eu
URL=https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt
SHA256=86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed
LOCAL=data/input.txt
SHARED=../shared/data/tinyshakespeare.txt

if [ -r "$LOCAL" ]; then
    echo "data: $LOCAL"
    exit 0
fi
if [ -r "$SHARED" ]; then
    echo "data: $SHARED"
    exit 0
fi
# curl and the CA certificates it checks the server with: installed the
# way every package of the project is (deps.sh), only when a download is due
common/deps.sh curl ca-certificates || {
    echo "get-data: no $LOCAL or $SHARED, and curl could not be installed to download it" >&2
    exit 1
}
mkdir -p data
echo "data: downloading Tiny Shakespeare to $LOCAL"
curl -fsSL --retry 2 -o "$LOCAL.part" "$URL" || {
    rm -f "$LOCAL.part"
    echo "get-data: download failed; put a UTF-8 text at $LOCAL or pass --data PATH" >&2
    exit 1
}
got=$(sha256sum "$LOCAL.part" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
    rm -f "$LOCAL.part"
    echo "get-data: checksum mismatch (got $got, expected $SHA256); download discarded" >&2
    exit 1
fi
mv "$LOCAL.part" "$LOCAL"
echo "data: $LOCAL (sha256 ok)"
