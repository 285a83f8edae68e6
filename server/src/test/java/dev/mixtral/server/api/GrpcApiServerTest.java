package dev.mixtral.server.api;

import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.TestData;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.proto.v1.ChatMessage;
import dev.mixtral.proto.v1.GenerateRequest;
import dev.mixtral.proto.v1.GenerateResponse;
import dev.mixtral.proto.v1.GenerationServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The gRPC generation API over real gRPC on loopback. */
class GrpcApiServerTest {
    static MixtralModel model;
    static InferenceEngine engine;
    static GrpcApiServer server;
    static ManagedChannel channel;
    static GenerationServiceGrpc.GenerationServiceBlockingStub stub;

    @BeforeAll
    static void start() throws Exception {
        model = MixtralModel.open(TestData.golden().resolve("tiny/mixtral-tiny-Q8_0.gguf"), LocalExperts::loadAll);
        engine = new InferenceEngine(model.transformer(), new EngineConfig(4, 16, 1L << 30, 64, KvCache.Type.F32));
        server = new GrpcApiServer(engine, model.tokenizer(), new ServerMetrics(), "127.0.0.1", 0, () -> null);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        stub = GenerationServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        server.close();
        engine.close();
        model.close();
    }

    @Test
    void greedyGenerationStreamsTheModelsTokens() {
        var golden = dev.mixtral.model.Golden.load("Q8_0").cases().get(1);
        List<Integer> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        GenerateResponse last = null;
        for (Iterator<GenerateResponse> it = stub.generate(GenerateRequest.newBuilder().setPrompt(golden.prompt()).setMaxTokens(10).setTemperature(0).build()); it.hasNext(); ) {
            last = it.next();
            ids.addAll(last.getTokenIdsList());
            text.append(last.getText());
        }
        assertThat(ids).containsExactly(java.util.Arrays.stream(java.util.Arrays.copyOf(golden.exactGenerated(), 10)).boxed().toArray(Integer[]::new));
        assertThat(last.getFinishReason()).isEqualTo("length");
        assertThat(last.getUsage().getPromptTokens()).isEqualTo(golden.promptIds().length);
        assertThat(last.getUsage().getCompletionTokens()).isEqualTo(10);
        assertThat(text.toString()).isNotEmpty();
    }

    @Test
    void chatMessagesAndBadRequests() {
        var it = stub.generate(GenerateRequest.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent("Hello"))
                .setMaxTokens(3).setTemperature(0.7f).setSeed(3).build());
        int messages = 0;
        while (it.hasNext()) { it.next(); messages++; }
        assertThat(messages).isBetween(2, 4);
        assertThatThrownBy(() -> stub.generate(GenerateRequest.newBuilder().setMaxTokens(3).build()).hasNext())
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("exactly one of prompt, messages or prompt_token_ids");
                });
        assertThatThrownBy(() -> stub.generate(GenerateRequest.newBuilder().setPrompt("x").setMaxTokens(5000).build()).hasNext())
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getDescription()).contains("exceeds the model's context"));
    }

    @Test
    void cancellingTheCallFreesTheSequence() {
        var async = GenerationServiceGrpc.newStub(channel);
        var first = new java.util.concurrent.CountDownLatch(1);
        io.grpc.Context.CancellableContext ctx = io.grpc.Context.current().withCancellation();
        ctx.run(() -> async.generate(GenerateRequest.newBuilder().setPrompt("Once").setMaxTokens(1500).build(), new io.grpc.stub.StreamObserver<>() {
            @Override public void onNext(GenerateResponse value) { first.countDown(); }
            @Override public void onError(Throwable t) { }
            @Override public void onCompleted() { }
        }));
        await().atMost(30, TimeUnit.SECONDS).until(() -> first.getCount() == 0);
        assertThat(engine.stats().running()).isEqualTo(1);
        ctx.cancel(null);
        await().atMost(30, TimeUnit.SECONDS).until(() -> engine.stats().running() == 0 && engine.stats().kvReservedBytes() == 0);
    }

    @Test
    void withAnApiKeyOnlyCallsCarryingItAreServed() throws Exception {
        try (GrpcApiServer keyed = new GrpcApiServer(engine, model.tokenizer(), new ServerMetrics(), "127.0.0.1", 0, () -> null,
                RequestLimits.DEFAULTS, dev.mixtral.cluster.tls.ApiTls.OFF, "sesame-7f3a")) {
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", keyed.port()).usePlaintext().build();
            try {
                GenerateRequest request = GenerateRequest.newBuilder().setPrompt("Once upon a time").setMaxTokens(3).setTemperature(0).build();
                var bare = GenerationServiceGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
                assertThatThrownBy(() -> bare.generate(request).hasNext())
                        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                            assertThat(e.getStatus().getDescription()).contains("missing API key");
                        });
                for (String wrong : new String[]{"Bearer sesame-7f3b", "Bearer sesame-7f3", "sesame-7f3a", "Bearer "}) {
                    assertThatThrownBy(() -> withAuthorization(bare, wrong).generate(request).hasNext())
                            .as(wrong)
                            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                                assertThat(e.getStatus().getDescription()).contains("incorrect API key");
                            });
                }
                int tokens = 0;
                for (Iterator<GenerateResponse> it = withAuthorization(bare, "Bearer sesame-7f3a").generate(request); it.hasNext(); ) {
                    tokens += it.next().getTokenIdsCount();
                }
                assertThat(tokens).isEqualTo(3);
            } finally {
                ch.shutdownNow();
            }
        }
    }

    private static GenerationServiceGrpc.GenerationServiceBlockingStub withAuthorization(GenerationServiceGrpc.GenerationServiceBlockingStub stub, String value) {
        io.grpc.Metadata headers = new io.grpc.Metadata();
        headers.put(io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER), value);
        return stub.withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers));
    }
}
