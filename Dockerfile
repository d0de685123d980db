# One edgecd member. Without DATABASE_URL it keeps an embedded PGlite database under /data.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json drizzle.config.ts ./
COPY src src
COPY migrations migrations
COPY scripts/container-entrypoint.sh scripts/
EXPOSE 2379 2380
VOLUME /data
ENTRYPOINT ["bash", "scripts/container-entrypoint.sh"]
