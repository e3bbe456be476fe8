#!/bin/sh
# Start nginx in the foreground; make a self-signed certificate first if none is mounted.
set -eu
if [ ! -s /etc/nginx/tls/tls.crt ] || [ ! -s /etc/nginx/tls/tls.key ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
    -keyout /etc/nginx/tls/tls.key -out /etc/nginx/tls/tls.crt 2>/dev/null
fi
exec nginx -g 'daemon off;'
