# One edgecd member. Without DATABASE_URL it keeps an embedded PGlite database under /data.
# Node 24 is the active LTS line; the tests run on Node 20 and up (package.json engines).
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only: tsx (a runtime dependency) loads the TypeScript sources.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json drizzle.config.ts ./
COPY src src
COPY migrations migrations
COPY bin bin
COPY scripts/container-entrypoint.sh scripts/
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 2379 2380
VOLUME /data
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:2379/health').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"
ENTRYPOINT ["bash", "scripts/container-entrypoint.sh"]
