# syntax=docker/dockerfile:1
# The mixtral-cluster image: ./mixtral's roles on a jlinked Java 25 runtime, as a non-root user.
#   docker build -t mixtral-cluster:0.1.0 .
#   docker run --rm mixtral-cluster:0.1.0 --help
#   docker run --rm -v /models:/models mixtral-cluster:0.1.0 expert-node --model /models/m.gguf --placement 0/2/1
# Commands are the launcher's: serve (coordinator + API), expert-node, coordinator, generate, inspect, ...

# ---- build: the project's jars with the Maven wrapper ----
FROM eclipse-temurin:25-jdk AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.m2 ./mvnw -B -ntp -DskipTests -pl cli -am package

# ---- runtime: only the JDK modules the project needs (docker/jdk-modules, incl. jdk.incubator.vector) ----
FROM eclipse-temurin:25-jdk AS runtime
COPY docker/jdk-modules /tmp/jdk-modules
RUN jlink --add-modules "$(grep -v '^#' /tmp/jdk-modules | paste -sd, -)" \
      --strip-debug --no-header-files --no-man-pages --compress=zip-6 --output /runtime

# ---- the image ----
FROM debian:trixie-slim
RUN groupadd --system --gid 10001 mixtral && useradd --system --uid 10001 --gid mixtral --home-dir /opt/mixtral mixtral
COPY --from=runtime /runtime /opt/mixtral/runtime
COPY --from=build /src/cli/target/lib/ /opt/mixtral/lib/
COPY --from=build /src/cli/target/mixtral-cli.jar /opt/mixtral/lib/
COPY docker/mixtral /opt/mixtral/bin/mixtral
# the built-in model (when no --model is given) is written under MIXTRAL_HOME/models
ENV MIXTRAL_HOME=/tmp/mixtral
USER 10001:10001
WORKDIR /opt/mixtral
EXPOSE 8080 8081 25520 50051 9404
ENTRYPOINT ["/opt/mixtral/bin/mixtral"]
CMD ["--help"]
