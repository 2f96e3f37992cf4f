package io.svcmove.migrator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.commons.cli.Option;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The completion script that 'svcmove completion bash' prints, run in a real bash: COMP_WORDS and
 * COMP_CWORD as bash sets them, _svcmove called, COMPREPLY read back. The CLI it asks for names is
 * COMP_WORDS[0]: here a fake that prints fixed names, or hangs, or fails loudly.
 */
class CompletionTest {
    @TempDir Path dir;
    private Path script;
    private Path fake;

    @BeforeEach
    void writeScript() throws IOException {
        Result r = svcmove("completion", "bash");
        assertEquals(0, r.code, r.err);
        script = Files.writeString(dir.resolve("svcmove.bash"), r.out);
        fake = executable("fake-svcmove", """
                #!/bin/sh
                case "$1 $2" in
                  "completion services") echo web; echo db ;;
                  "completion nodes") echo node1; echo node2 ;;
                esac
                """);
    }

    @Test
    void firstWordIsEveryCommandAndAServiceWhenNoCommandBeginsSo() throws Exception {
        List<String> all = new ArrayList<>(Svcmove.verbs().stream().map(Command::name).toList());
        all.addAll(List.of("completion", "cert", "help"));
        assertEquals(all, complete(fake, ""));
        assertEquals(List.of("move", "moves"), complete(fake, "mo"));
        assertEquals(List.of("stop", "status"), complete(fake, "st"));
        assertEquals(List.of("web"), complete(fake, "w"), "'svcmove NAME NODE' is a move");
        assertEquals(List.of("--help", "--version"), complete(fake, "--"));
    }

    @Test
    void optionsAreThoseTheParserTakes() throws Exception {
        for (Command c : Svcmove.verbs()) {
            List<String> expected = Svcmove.withCommon(c).getOptions().stream().map(o -> "--" + o.getLongOpt()).sorted().toList();
            assertEquals(expected, complete(fake, c.name(), "--"), c.name());
        }
        assertEquals(List.of("--no-buffer"), complete(fake, "move", "web", "--no"),
                "an option is offered after the operands too");
        assertEquals(List.of("--dir", "--help", "--ip"), complete(fake, "cert", "node", "--"));
    }

    @Test
    void operandsAreServicesNodesOrWords() throws Exception {
        assertEquals(List.of("web", "db"), complete(fake, "move", ""));
        assertEquals(List.of("node1", "node2"), complete(fake, "move", "web", ""));
        assertEquals(List.of(), complete(fake, "move", "web", "node2", ""), "move takes two operands");
        assertEquals(List.of("node1", "node2"), complete(fake, "web", "n"), "the move shortcut's NODE");
        assertEquals(List.of("db"), complete(fake, "stop", "d"));
        assertEquals(List.of("node2"), complete(fake, "drain", "node2"));
        assertEquals(List.of("sync", "check"), complete(fake, "dns", ""));
        assertEquals(List.of("ca", "node"), complete(fake, "cert", ""));
        assertEquals(List.of("bash", "services", "nodes"), complete(fake, "completion", ""));
        assertEquals(List.of("run", "recover"), complete(fake, "help", "r"));
    }

    @Test
    void optionValuesAreSkippedAndCompleted() throws Exception {
        assertEquals(List.of("eager", "lazy", "precopy", "auto"), complete(fake, "move", "--mode", ""));
        assertEquals(List.of("lazy"), complete(fake, "move", "--mode", "=", "l"), "bash splits --mode=l at '='");
        assertEquals(List.of("eager", "lazy", "precopy", "auto"), complete(fake, "move", "--mode", "="));
        assertEquals(List.of("web", "db"), complete(fake, "move", "--mode", "lazy", ""), "a value is no operand");
        assertEquals(List.of("node1", "node2"), complete(fake, "move", "--mode", "=", "lazy", "web", ""));
        assertEquals(List.of("node1", "node2"), complete(fake, "recover", "web", "--on", ""));
        assertEquals(List.of(), complete(fake, "run", "web", "--vip", ""), "an address: nothing to offer");
        Files.createDirectory(dir.resolve("conf.d"));
        Files.writeString(dir.resolve("agent.toml"), "");
        assertEquals(List.of(dir + "/agent.toml"), complete(fake, "status", "--config", dir + "/ag"));
        assertEquals(List.of(dir + "/conf.d"), complete(fake, "run", "web", "--cwd", dir + "/"));
    }

    @Test
    void configGivenOnTheLineIsPassedToTheNameListing() throws Exception {
        Path echo = executable("echo-svcmove", "#!/bin/sh\nprintf '<%s>' \"$@\"; echo\n");
        assertEquals(List.of("<completion><services><--config></etc/other.toml>"), complete(echo, "stop", "--config", "/etc/other.toml", ""));
        assertEquals(List.of("<completion><nodes><--config></etc/other.toml>"),
                complete(echo, "drain", "--config", "/etc/other.toml", ""));
        assertEquals(List.of("<completion><nodes>"), complete(echo, "drain", ""));
    }

    @Test
    void namesComeFromTheRealCli() throws Exception {
        Path config = Files.writeString(dir.resolve("agent.toml"), """
                node = "n1"
                [[peers]]
                name = "n2"
                address = "192.0.2.12:7301"
                """);
        Path cli = executable("svcmove", "#!/bin/sh\nexec '%s' -cp '%s' %s \"$@\"\n".formatted(
                Path.of(System.getProperty("java.home"), "bin", "java"), System.getProperty("java.class.path"), Svcmove.class.getName()));
        // A JVM's start on a loaded machine may outlast the 2 s meant for a person at a prompt.
        Bash r = bash(Map.of("SVCMOVE_COMPLETION_TIMEOUT", "60"), cli, "move", "--config", config.toString(), "web", "");
        assertEquals(List.of("n1", "n2"), r.candidates);
        assertEquals("", r.err);
    }

    @Test
    void noAgentMeansNoNamesAndNoMessageAndNoHang() throws Exception {
        Path loud = executable("loud-svcmove", "#!/bin/sh\necho 'svcmove completion: no svcmove agent answers' >&2\nexit 69\n");
        Bash r = bash(loud, "move", "");
        assertEquals(List.of(), r.candidates);
        assertEquals("", r.err, "the script silences the CLI's errors");
        // Not exec'd: a child that holds the script's pipe open, as bin/svcmove's java can be.
        Path hung = executable("hung-svcmove", "#!/bin/sh\nsleep 30\n");
        long t0 = System.nanoTime();
        r = bash(hung, "move", "web", "");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(List.of(), r.candidates);
        assertEquals("", r.err);
        assertTrue(ms < 5_000, "a hung agent must not hang the shell: took " + ms + " ms");
        assertEquals(List.of(), complete(dir.resolve("no-such-cli"), "stop", ""));
    }

    @Test
    void listingsComeFromTheConfigAndTheAgent() throws Exception {
        Path config = Files.writeString(dir.resolve("agent.toml"), """
                node = "n1"
                socket = "%s"
                [[peers]]
                name = "n2"
                address = "192.0.2.12:7301"
                [[peers]]
                name = "n3"
                address = "192.0.2.13:7301"
                """.formatted(dir.resolve("no-agent.sock")));
        Result nodes = svcmove("completion", "nodes", "--config", config.toString());
        assertEquals(0, nodes.code, nodes.err);
        assertEquals("n1\nn2\nn3\n", nodes.out);
        Result services = svcmove("completion", "services", "--config", config.toString());
        assertEquals(69, services.code, "no agent listens at the configured socket");
        assertEquals("", services.out, "nothing on stdout for the script to offer");
        assertEquals(2, svcmove("completion", "zsh").code);
    }

    @Test
    void valueKindsFollowTheArgumentsName() {
        assertEquals("a|b", CompletionCommand.valueKind(Option.builder().longOpt("x").hasArg().argName("a|b").build()));
        assertEquals("@file", CompletionCommand.valueKind(Option.builder().longOpt("x").hasArg().argName("FILE").build()));
        assertEquals(Command.NODE, CompletionCommand.valueKind(Option.builder().longOpt("x").hasArg().argName("NODE").build()));
        assertEquals("", CompletionCommand.valueKind(Option.builder().longOpt("x").hasArg().build()));
    }

    private record Result(int code, String out, String err) {}

    private static Result svcmove(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Svcmove(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                Svcmove.verbs()).run(args);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path executable(String name, String text) throws IOException {
        Path p = Files.writeString(dir.resolve(name), text);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    private record Bash(List<String> candidates, String err) {}

    private List<String> complete(Path cli, String... words) throws Exception {
        Bash r = bash(cli, words);
        assertEquals("", r.err, "completing " + Arrays.toString(words));
        return r.candidates;
    }

    /** Completes the last of words after cli, as bash does on TAB; the candidates one a line. */
    private Bash bash(Path cli, String... words) throws Exception {
        return bash(Map.of(), cli, words);
    }

    private Bash bash(Map<String, String> env, Path cli, String... words) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", "--norc", "--noprofile", "-c",
                "source \"$0\"; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); _svcmove; printf '%s\\n' \"${COMPREPLY[@]}\"",
                script.toString(), cli.toString()));
        cmd.addAll(List.of(words));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("bash did not finish completing " + Arrays.toString(words));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "bash failed completing " + Arrays.toString(words) + ": " + err);
        return new Bash(out.lines().filter(l -> !l.isEmpty()).toList(), err);
    }
}
