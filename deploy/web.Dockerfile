# The web app's production build, handed to the api through the `web` volume: the container
# copies it there and exits (docker-compose.yml, service `web`).
FROM node:20-bookworm-slim AS build
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci
COPY web/ ./
RUN npm run build

FROM busybox:1.36
COPY --from=build /src/web/dist /dist
# Copies over the previous build without deleting it: Vite's file names carry a content
# hash, so pages loaded before the deploy still find their chunks.
CMD ["cp", "-R", "/dist/.", "/srv/web/"]
