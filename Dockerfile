# tokio-php's image: PHP 8.4 ZTS, the addon and the TypeScript built by the project's own scripts
# (native/build-php.sh, npm ci), then a slim runtime with only what they need.
#
#   docker build -t tokio-php:0.1.0 -t tokio-php .       (the version is package.json's)
#   docker run -p 8080:8080 -p 9090:9090 tokio-php:0.1.0
#
# Layers are ordered so that a change to the code rebuilds neither PHP nor the runtime packages.

# ---- build: PHP, the addon, the TypeScript ----
FROM node:20-bookworm-slim AS build
ENV DEBIAN_FRONTEND=noninteractive TOKIO_PHP_CACHE=/opt/tokio-php
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 binutils curl ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# PHP depends on these files alone: its layer is reused until the version, flags or patches change
COPY native/php-version.env native/build-php.sh native/fetch-php.sh native/
COPY native/php-patches native/php-patches
# PHP's verified source tarball is kept (/usr/src/php.tar.xz in the image): derived images build
# extensions from it (tokio-php-source, tokio-php-ext-install)
RUN tarball=$(bash native/fetch-php.sh /tmp/php-dl | tail -n1) \
 && mkdir -p /usr/src && cp "$tarball" /usr/src/php.tar.xz && rm -rf /tmp/php-dl \
 && PHP_TARBALL=/usr/src/php.tar.xz bash native/build-php.sh
COPY package.json package-lock.json binding.gyp tsconfig.json ./
COPY native native
COPY ext ext
COPY src src
COPY public public
COPY docker/runtime-packages.sh docker/
# npm ci runs the install script (the addon against the PHP above) and tsc; then the dev tools go
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund \
 && php=$(ls -d /opt/tokio-php/php-*) \
 && rm -rf "$php/src" "$php/php" "$php/bin/phar"* \
 && strip --strip-unneeded "$php/bin/php" "$php/lib/libphp.so" "$php/lib/php/extensions/"*/*.so build/Release/tokio_php.node build/Release/tokio_net.node \
 && find node_modules/uWebSockets.js -name 'uws_*.node' ! -name "uws_linux_$(node -p process.arch)_$(node -p process.versions.modules).node" -delete \
 && bash docker/runtime-packages.sh "$php/lib/libphp.so" build/Release/tokio_php.node build/Release/tokio_net.node "$php/lib/php/extensions/"*/*.so > /runtime-packages \
 && rm -rf build/Release/obj.target build/Release/.deps

# ---- runtime ----
FROM debian:bookworm-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="tokio-php" \
      org.opencontainers.image.description="A PHP 8.4 application server hosted by Node.js" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/tokio-php/tokio-php" \
      org.opencontainers.image.licenses="MIT"
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /runtime-packages /tmp/runtime-packages
# tini is PID 1: it passes signals on and reaps what PHP's exec() leaves behind
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends tini ca-certificates $(cat /tmp/runtime-packages) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages /usr/share/doc /usr/share/man \
 && groupadd --gid 10001 tokio && useradd --uid 10001 --gid tokio --no-create-home --shell /usr/sbin/nologin tokio
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# the same path as in the build: the addon finds libphp.so there (its rpath)
COPY --from=build /opt/tokio-php /opt/tokio-php
COPY --from=build /src/node_modules /app/node_modules
COPY --from=build /src/build/Release/tokio_php.node /src/build/Release/tokio_net.node /app/build/Release/
COPY --from=build /src/dist/src /app/dist/src
COPY --from=build /src/package.json /app/package.json
COPY --from=build /src/src/metrics/opcache-status.php /app/src/metrics/opcache-status.php
COPY --from=build /src/public /var/www/html
COPY docker/php.ini /etc/tokio-php/php.ini
# what a derived image needs to build an extension (the official PHP images' docker-php-source and
# docker-php-ext-install): PHP's source tarball, phpize, php-config and the headers (in
# /opt/tokio-php), and two helpers; the build tools are $PHPIZE_DEPS, installed by the derived image
COPY --from=build /usr/src/php.tar.xz /usr/src/php.tar.xz
COPY docker/bin/tokio-php-source docker/bin/tokio-php-ext-install /usr/local/bin/
ENV PHPIZE_DEPS="autoconf dpkg-dev file g++ gcc libc-dev make pkg-config re2c xz-utils"
RUN mkdir -p /etc/tokio-php/conf.d \
 && php=$(ls -d /opt/tokio-php/php-*) && ln -s "$php/bin/php" "$php/bin/phpize" "$php/bin/php-config" /usr/local/bin/
WORKDIR /app
ENV LISTEN_ADDR=0.0.0.0:8080 \
    INTERNAL_ADDR=0.0.0.0:9090 \
    DOCUMENT_ROOT=/var/www/html \
    PHP_INI_PATH=/etc/tokio-php/php.ini \
    PHP_INI_SCAN_DIR=/etc/tokio-php/conf.d \
    MAX_BODY_SIZE=32m \
    NODE_ENV=production
USER tokio
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/src/cli.js"]
