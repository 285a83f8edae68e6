package dev.mixtral.cli;

import dev.mixtral.coordinator.ExpertUnavailableException;
import dev.mixtral.model.ModelFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./mixtral}: every capability of the project is a subcommand here. */
@Command(name = "mixtral", mixinStandardHelpOptions = true, version = "mixtral-cluster 0.1.0",
        description = "Expert-parallel inference for Mixtral-architecture mixture-of-experts models.",
        subcommands = {
                ServeCommand.class,
                GenerateCommand.class,
                LogitsCommand.class,
                TokenizeCommand.class,
                InspectCommand.class,
                SynthCommand.class,
                BenchCommand.class,
                ExpertNodeCommand.class,
                CoordinatorCommand.class,
                ClusterCommand.class,
                dev.mixtral.loadtest.LoadTestCommand.class,
                CommandLine.HelpCommand.class
        },
        footer = {"", "Also: ./mixtral test      build and run the test suite.",
                "      ./mixtral kernels   kernel benchmark report (GB/s, GFLOP/s vs memory bandwidth); ./mixtral jmh [args]: JMH."})
public final class Main {

    public static void main(String[] args) {
        // The model module logs through System.Logger (java.util.logging here): one line, like slf4j-simple's
        System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tT.%1$tL %4$s %3$s - %5$s%6$s%n");
        // before any HTTP server of any role starts, whatever JVM flags the process was given (a container's, a test's)
        dev.mixtral.server.api.HttpServerKind.pinJdkProvider();
        System.exit(run(args));
    }

    /** Runs a command line and returns the exit code (0 ok, 1 user error, 2 usage error, 3 internal error). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof ModelFileException || e instanceof IllegalArgumentException || e instanceof UserException
                    || e instanceof java.io.UncheckedIOException || e instanceof ExpertUnavailableException) {
                System.err.println("mixtral " + cmd.getCommandName() + ": " + e.getMessage());
                return 1;
            }
            System.err.println("mixtral " + cmd.getCommandName() + ": internal error: " + e);
            e.printStackTrace(System.err);
            return 3;
        });
        return cli.execute(args);
    }
}
