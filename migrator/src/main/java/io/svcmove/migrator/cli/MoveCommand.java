package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.move.Phase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import sun.misc.Signal;

final class MoveCommand implements Command {
    private static final int BAR = 30;
    /** How often a Ctrl-C's cancel is asked again while the move has not begun on its node. */
    private static final Duration CANCEL_AGAIN = Duration.ofMillis(200);

    @Override
    public String name() {
        return "move";
    }

    @Override
    public String usage() {
        return "NAME NODE   (or simply: svcmove NAME NODE)";
    }

    @Override
    public String summary() {
        return "move a running service, with its open TCP connections, to another node";
    }

    @Override
    public String details() {
        return """
                Works from any node: the local agent finds the node that runs NAME. The phases, as
                they happen: prepare (NODE builds an empty cell with the VIP, held), freeze (the source
                holds the VIP's traffic and CRIU dumps the tree, leaving it stopped), transfer (the
                images go to NODE over the agents' TLS channel), restore (NODE restores the tree and
                lifts its hold), announce (gratuitous ARP from NODE), drain (what clients sent during
                the freeze, buffered by the source, is injected into the service on NODE), commit
                (NODE keeps the service, the source removes its frozen copy). Clients see one stall,
                about as long as the freeze; what they sent meanwhile is delivered, not lost (a freeze
                over their 200 ms retransmission timeout still costs them one retransmission).

                Any failure before commit resumes the service where it was, connections intact:
                exit 3 when NODE refused (nothing changed), 4 when the move was rolled back, 6 when NODE
                stopped answering where only it can tell whether it has the service (it is frozen here
                and may run there, and the agents settle it on one node when they can talk again), and
                also 6 when this node's agent stopped during the move (it finishes the move from its
                record when it starts again).

                Ctrl-C cancels the move as 'svcmove cancel' does: it rolls back at its next step (exit
                4), or stops before it began (exit 4 too, nothing changed) while it waits for another
                move or checkpoint on its node or runs the pre-prepare hooks. Past its point of no return (from the restore on) it cannot be, and the command
                says so and waits for it; a second Ctrl-C stops waiting (exit 6), the move goes on.
                A move that outlasts [move] timeout_s (agent.toml; no limit by default) is cancelled
                the same way.

                Before anything, the wall clocks of both nodes are compared: a move is refused
                (exit 3) when they differ by more than [move] max_clock_offset_ms (50), unless --force.

                --mode lazy (post-copy) restores the service on NODE at once and moves its memory
                afterwards: pages come from the source on first touch, the rest in the background. The
                freeze no longer grows with the memory, but until the last page has arrived the service
                depends on the source: if the source fails then, the service is killed on NODE and
                marked failed (exit 1; there is nothing to roll back to). --mode eager moves everything
                during the freeze. --mode precopy copies the memory while the service still runs, in
                rounds of 'criu pre-dump' (each only what was written since the one before; at most 8,
                until a round has under 64 pages or shrinks by less than 10 %), then freezes it for
                the pages written since the last round only. It needs a kernel that tracks dirty pages
                (CONFIG_MEM_SOFT_DIRTY) on the source, and is refused (exit 3) where there is none.
                --mode auto (the default) pre-copies where both nodes track dirty pages, else is lazy
                above [move] lazy_above_mb (256), else eager; the output says which and why. A lazy
                move that a node cannot make (no userfaultfd, fs.pipe-max-size too small) falls back
                to eager with a warning.

                Example:
                  svcmove web node2
                  svcmove db node2 --mode lazy
                """;
    }

    @Override
    public List<String> operands() {
        return List.of(SERVICE, NODE);
    }

    @Override
    public Options options() {
        return new Options().addOption(Option.builder().longOpt("no-buffer")
                .desc("do not buffer what clients send during the freeze: they retransmit it after their timeout instead"
                        + " (for comparison)").build())
                .addOption(Option.builder().longOpt("mode").hasArg().argName("eager|lazy|precopy|auto")
                        .desc("eager: all memory during the freeze; lazy: memory after it (post-copy); precopy: memory"
                                + " while it runs, then what changed during the freeze; auto (default): precopy where both"
                                + " nodes track dirty pages, else lazy above [move] lazy_above_mb, else eager").build())
                .addOption(Option.builder().longOpt("force")
                        .desc("move even when the nodes' wall clocks differ by more than [move] max_clock_offset_ms").build())
                .addOption(Option.builder().longOpt("dry-run")
                        .desc("move nothing: run every pre-flight check and print them, as 'svcmove check' does").build());
    }

    @Override
    public int run(CommandLine line, Cli cli) {
        if (line.getArgList().size() != 2) {
            throw new ControlException(Outcome.USAGE, "give the service and the node to move it to: svcmove move NAME NODE");
        }
        if (line.hasOption("dry-run")) {
            return CheckCommand.check(line, cli, line.getArgList().get(0), line.getArgList().get(1));
        }
        ObjectNode req = ControlMessage.request("move").put("name", line.getArgList().get(0)).put("node", line.getArgList().get(1))
                .put("buffer", !line.hasOption("no-buffer")).put("force", line.hasOption("force"))
                .put("mode", line.getOptionValue("mode", "auto"));
        ArrayNode events = ControlMessage.JSON.createArrayNode();
        onInterrupt(cli, req.path("name").asText());
        JsonNode r;
        try {
            r = cli.call(req, e -> {
                events.add(e);
                if (!cli.json()) {
                    show(cli, e);
                }
            });
        } catch (ControlException e) {
            throw events.isEmpty() || e.outcome() != Outcome.UNAVAILABLE ? e : lostMidMove(req, e);
        } finally {
            answered.set(true);
        }
        if (cli.json()) {
            ObjectNode out = ((ObjectNode) r.deepCopy()).put("ok", true);
            out.set("events", events);
            cli.printJson(out);
        } else {
            cli.out.printf("%s moved %s -> %s: frozen %.1f ms, total %.1f ms, %.1f MB of images; it runs there as pid %d%n",
                    r.path("service").asText(), r.path("from").asText(), r.path("to").asText(), r.path("freeze_ms").asDouble(),
                    r.path("total_ms").asDouble(), r.path("image_bytes").asLong() / 1e6, r.path("pid").asLong());
            if (r.path("memory_after_restore_bytes").asLong() > 0) {
                cli.out.printf("%.1f MB of its memory copied in on %s from the streamed pages after the restore, before the commit%n",
                        r.path("memory_after_restore_bytes").asLong() / 1e6, r.path("to").asText());
            }
            if (r.path("mode").asText().equals("lazy")) {
                cli.out.printf("lazy move: last page arrived %.1f ms after the freeze began; the service depended on %s for %.1f ms%n",
                        r.path("last_page_ms").asDouble(), r.path("from").asText(), r.path("depends_on_source_ms").asDouble());
            }
            if (r.has("precopy_rounds")) {
                List<String> pages = new ArrayList<>();
                r.path("precopy_rounds").forEach(x -> pages.add(Long.toString(x.path("pages").asLong())));
                cli.out.printf("pre-copy: %d rounds while it ran (pages: %s), then the final dump of %d pages during the freeze%n",
                        pages.size(), String.join(", ", pages), r.path("final_dump_pages").asLong());
            }
            JsonNode b = r.path("buffer");
            cli.out.printf("packet buffer: %d packets (%d bytes) sent by clients during the freeze, %d injected, %d dropped%n",
                    b.path("packets").asInt(), b.path("bytes").asLong(), b.path("injected").asInt(), b.path("dropped").asLong());
        }
        return 0;
    }

    /** Ctrl-C pressed so far during this move. */
    private final AtomicInteger interrupts = new AtomicInteger();
    /** The agent answered the move's request: its outcome is printed, a cancel no longer asked. */
    private final AtomicBoolean answered = new AtomicBoolean();

    /**
     * Ctrl-C cancels the move as `svcmove cancel` does and keeps waiting for its end, which the agent
     * still reports (rolled back: exit 4; past the point of no return it finishes); a second one
     * stops waiting, and the move goes on without this command.
     */
    private void onInterrupt(Cli cli, String name) {
        Signal.handle(new Signal("INT"), sig -> {
            if (interrupts.incrementAndGet() > 1) {
                cli.err.println("\nsvcmove move: no longer waiting: the move of " + name + " goes on ('svcmove moves' shows it,"
                        + " 'svcmove status' where it ends)");
                System.exit(Outcome.UNKNOWN.exitCode);
            }
            try {
                JsonNode r = cancelOnceBegun(() -> cli.call(ControlMessage.request("cancel").put("name", name).put("interrupted", true)),
                        answered::get, () -> cli.err.println("\nsvcmove move: the move of " + name + " has not begun on its node yet:"
                                + " it is cancelled as soon as it has (Ctrl-C again: stop waiting)"), CANCEL_AGAIN);
                if (r != null) {
                    String at = r.path("at").asText();
                    cli.err.println("\nsvcmove move: cancelling: the move of " + name + (at.equals("starting")
                            ? " has not begun its steps and stops before them" : " rolls back at its next step (it is at " + at + ")")
                            + "; waiting for it (Ctrl-C again: stop waiting)");
                }
            } catch (ControlException e) {
                cli.err.println("\nsvcmove move: " + e.getMessage() + "; waiting for the move to end (Ctrl-C again: stop waiting)");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /**
     * Asks {@code cancel} until the move's node has the move: between the CLI's request and the
     * move's start there (the request on its way to the agent, or forwarded to the node that runs
     * the service) no node knows a move to cancel, and the cancel would be lost while the move then
     * goes on. {@code notYet} runs the first time it is not found. Null when the agent answered the
     * move's request first (its outcome says what became of it); any other refusal is thrown.
     */
    static JsonNode cancelOnceBegun(Supplier<JsonNode> cancel, BooleanSupplier answered, Runnable notYet, Duration every)
            throws InterruptedException {
        for (boolean told = false; ; told = true) {
            try {
                return cancel.get();
            } catch (ControlException e) {
                if (e.outcome() != Outcome.NOT_FOUND) {
                    throw e;
                }
            }
            if (answered.getAsBoolean()) {
                return null;
            }
            if (!told) {
                notYet.run();
            }
            Thread.sleep(every.toMillis());
        }
    }

    /**
     * The agent went away after the move began (it crashed or was restarted): only its record of the
     * move says where it got to, and the restarted agent finishes the move from it.
     */
    private static ControlException lostMidMove(JsonNode req, ControlException e) {
        String name = req.path("name").asText();
        return new ControlException(Outcome.UNKNOWN, "outcome unknown: this node's agent stopped during the move of " + name + " ("
                + e.getMessage() + "); " + name + " may be frozen where it ran or run on " + req.path("node").asText()
                + "; the agent finishes the move from its record when it starts again: see 'svcmove status " + name + "'", e);
    }

    /** Whether a progress bar is on the current line, to be ended before the next line. */
    private boolean barOpen;

    /** The move pre-copies (its mode event said so): its pre-copy phase is shown. */
    private boolean precopy;

    private void show(Cli cli, JsonNode e) {
        if (e.has("sent")) {
            long sent = e.get("sent").asLong();
            long total = Math.max(1, e.get("total").asLong());
            int filled = (int) (BAR * Math.min(sent, total) / total);
            cli.out.printf("\r  transfer  [%s%s] %5.1f / %.1f MB", "#".repeat(filled), " ".repeat(BAR - filled), sent / 1e6, total / 1e6);
            barOpen = true;
            cli.out.flush();
            return;
        }
        if (barOpen) {
            cli.out.println();
            barOpen = false;
        }
        if (e.has("warning")) {
            cli.out.println("warning: " + e.get("warning").asText());
        } else if (e.has("forwarded_to")) {
            cli.out.println("the service runs on " + e.get("forwarded_to").asText() + ": the move runs there");
        } else if (e.has("mode_reason")) {
            precopy = e.path("mode").asText().equals("precopy");
            cli.out.printf("mode: %s (%s)%n", e.path("mode").asText(), e.path("mode_reason").asText());
        } else if (e.has("round")) {
            cli.out.printf("  %-9s round %d: %d pages, %.1f MB in %.1f ms%n", e.get("phase").asText(), e.get("round").asInt(),
                    e.get("pages").asLong(), e.get("bytes").asLong() / 1e6, e.get("ms").asDouble());
        } else if (!precopy && Phase.PRECOPY.label().equals(e.path("phase").asText())) {
            return; // the table's pre-copy step, which does nothing in other modes
        } else if ("done".equals(e.path("state").asText())) {
            cli.out.printf("  %-9s done in %8.1f ms%n", e.get("phase").asText(), e.get("ms").asDouble());
        } else if ("failed".equals(e.path("state").asText())) {
            cli.out.printf("  %-9s FAILED at '%s': %s%n", e.get("phase").asText(), e.get("step").asText(), e.get("message").asText());
        } else if ("retried".equals(e.path("state").asText())) {
            cli.out.printf("  %-9s '%s' went through when tried again%n", e.get("phase").asText(), e.get("step").asText());
        } else if (e.has("rollback")) {
            cli.out.println("  rolling back: the service resumes where it was");
        } else if (e.has("undone")) {
            cli.out.printf("  undone: %s (%.1f ms)%n", e.get("undone").asText(), e.get("ms").asDouble());
        }
        cli.out.flush();
    }
}
