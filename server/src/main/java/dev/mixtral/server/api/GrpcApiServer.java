package dev.mixtral.server.api;

import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.model.tokenizer.ChatTemplate;
import dev.mixtral.model.tokenizer.Tokenizer;
import dev.mixtral.proto.v1.GenerateRequest;
import dev.mixtral.proto.v1.GenerateResponse;
import dev.mixtral.proto.v1.GenerationServiceGrpc;
import dev.mixtral.proto.v1.Usage;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The gRPC generation API ({@code mixtral.v1.GenerationService}): the same requests as HTTP, tokens streamed back. */
public final class GrpcApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GrpcApiServer.class);
    private final Server server;

    public GrpcApiServer(InferenceEngine engine, Tokenizer tokenizer, ServerMetrics metrics, String host, int port,
                         java.util.function.Supplier<String> notReady) throws IOException {
        this(engine, tokenizer, metrics, host, port, notReady, RequestLimits.DEFAULTS, dev.mixtral.cluster.tls.ApiTls.OFF);
    }

    public GrpcApiServer(InferenceEngine engine, Tokenizer tokenizer, ServerMetrics metrics, String host, int port,
                         java.util.function.Supplier<String> notReady, dev.mixtral.cluster.tls.ApiTls tls) throws IOException {
        this(engine, tokenizer, metrics, host, port, notReady, RequestLimits.DEFAULTS, tls);
    }

    public GrpcApiServer(InferenceEngine engine, Tokenizer tokenizer, ServerMetrics metrics, String host, int port,
                         java.util.function.Supplier<String> notReady, RequestLimits limits, dev.mixtral.cluster.tls.ApiTls tls) throws IOException {
        this(engine, tokenizer, metrics, host, port, notReady, limits, tls, null);
    }

    /**
     * {@code limits}: its prompt and {@code max_tokens} limits apply here as over HTTP; {@code tls}: the API's certificate,
     * or {@code ApiTls.OFF}; {@code apiKey}: when set, every call needs the metadata {@code authorization: Bearer <apiKey>},
     * as HTTP's {@code /v1/*} does.
     */
    public GrpcApiServer(InferenceEngine engine, Tokenizer tokenizer, ServerMetrics metrics, String host, int port,
                         java.util.function.Supplier<String> notReady, RequestLimits limits, dev.mixtral.cluster.tls.ApiTls tls,
                         String apiKey) throws IOException {
        Completions completions = new Completions(engine, tokenizer, metrics, notReady, limits);
        server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port), tls.grpcCredentials())
                .addService(ServerInterceptors.intercept(new Service(completions, metrics), new ApiKeyInterceptor(new ApiKey(apiKey))))
                .build().start();
        log.info("gRPC generation API listening on {}:{}{}", host, port(), apiKey == null || apiKey.isEmpty() ? "" : " (API key required)");
    }

    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Refuses a call without the right {@code authorization} metadata before it reaches the service. */
    private record ApiKeyInterceptor(ApiKey key) implements ServerInterceptor {
        private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            String refusal = key.refusal(headers.get(AUTHORIZATION));
            if (refusal == null) return next.startCall(call, headers);
            call.close(Status.UNAUTHENTICATED.withDescription(refusal + " (gRPC metadata 'authorization: Bearer <key>')"), new Metadata());
            return new ServerCall.Listener<>() {};
        }
    }

    private static final class Service extends GenerationServiceGrpc.GenerationServiceImplBase {
        private final Completions completions;
        private final ServerMetrics metrics;

        Service(Completions completions, ServerMetrics metrics) {
            this.completions = completions;
            this.metrics = metrics;
        }

        @Override
        public void generate(GenerateRequest request, StreamObserver<GenerateResponse> responses) {
            ServerCallStreamObserver<GenerateResponse> out = (ServerCallStreamObserver<GenerateResponse>) responses;
            long start = System.nanoTime();
            Completions.Started run;
            try {
                run = completions.start(toCompletionRequest(request), start);
            } catch (ApiException e) {
                out.onError(status(e).withDescription(e.getMessage()).asRuntimeException());
                return;
            }
            out.setOnCancelHandler(run.handle()::cancel); // client gone: free the slot and KV cache now
            // Relay on a virtual thread: the gRPC executor is not for blocking waits.
            Thread.ofVirtual().name("grpc-generate").start(() -> relay(run, out, start));
        }

        private void relay(Completions.Started run, ServerCallStreamObserver<GenerateResponse> out, long start) {
            try {
                while (true) {
                    switch (run.stream().next()) {
                        case GenerationStream.Text t -> {
                            if (out.isCancelled()) return;
                            GenerateResponse.Builder b = GenerateResponse.newBuilder().setText(t.text());
                            for (int id : t.tokens()) b.addTokenIds(id);
                            out.onNext(b.build());
                        }
                        case GenerationStream.Failed f -> {
                            metrics.requests.labelValues("error").inc();
                            out.onError(Status.UNAVAILABLE.withDescription("generation failed: " + f.error().getMessage()).asRuntimeException());
                            return;
                        }
                        case GenerationStream.Done d -> {
                            metrics.requests.labelValues(d.reason().openAiName()).inc();
                            if (out.isCancelled()) return;
                            out.onNext(GenerateResponse.newBuilder().setFinishReason(d.reason().openAiName())
                                    .setUsage(Usage.newBuilder().setPromptTokens(run.promptTokens()).setCompletionTokens(run.stream().completionTokens()))
                                    .build());
                            out.onCompleted();
                            return;
                        }
                    }
                }
            } catch (InterruptedException e) {
                run.handle().cancel();
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                run.handle().cancel(); // e.g. the call was cancelled while sending
            } finally {
                metrics.requestDuration.observe((System.nanoTime() - start) / 1e9);
            }
        }

        private static CompletionRequest toCompletionRequest(GenerateRequest r) {
            int forms = (r.getPrompt().isEmpty() ? 0 : 1) + (r.getMessagesCount() == 0 ? 0 : 1) + (r.getPromptTokenIdsCount() == 0 ? 0 : 1);
            if (forms != 1) throw ApiException.badRequest("prompt", "give exactly one of prompt, messages or prompt_token_ids");
            boolean chat = r.getMessagesCount() > 0;
            List<ChatTemplate.Message> messages = r.getMessagesList().stream().map(m -> new ChatTemplate.Message(m.getRole(), m.getContent())).toList();
            int[] ids = r.getPromptTokenIdsCount() == 0 ? null : r.getPromptTokenIdsList().stream().mapToInt(Integer::intValue).toArray();
            return CompletionRequest.of(chat, null, r.getPrompt().isEmpty() ? null : r.getPrompt(), ids, chat ? messages : null,
                    r.hasMaxTokens() ? r.getMaxTokens() : null, r.hasTemperature() ? r.getTemperature() : null,
                    r.hasTopP() ? r.getTopP() : null, r.hasTopK() ? r.getTopK() : null, r.hasSeed() ? r.getSeed() : null,
                    r.getStopList().stream().filter(s -> !s.isEmpty()).toList(), true, false);
        }

        private static Status status(ApiException e) {
            return switch (e.status()) {
                case 400, 413 -> Status.INVALID_ARGUMENT;
                case 401 -> Status.UNAUTHENTICATED;
                case 429 -> Status.RESOURCE_EXHAUSTED;
                case 503 -> Status.UNAVAILABLE;
                default -> Status.INTERNAL;
            };
        }
    }
}
