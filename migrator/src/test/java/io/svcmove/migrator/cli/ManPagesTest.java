package io.svcmove.migrator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.pki.CertCommand;
import java.io.File;
import java.io.IOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The manual pages in migrator/man: they render cleanly and cannot drift from the CLI and the configuration parser. */
class ManPagesTest {
    private static final Path SVCMOVE_8 = Path.of("man", "svcmove.8");
    private static final Path AGENT_TOML_5 = Path.of("man", "svcmove-agent.toml.5");
    /** A key's entry: ".BR key " = ..."". */
    private static final Pattern KEY = Pattern.compile("^\\.BR (\\w+) \" = ", Pattern.MULTILINE);

    @Test
    void pagesRenderWithoutWarnings() throws Exception {
        for (Path page : List.of(SVCMOVE_8, AGENT_TOML_5)) {
            assertQuiet(page, "groff", "-man", "-ww", "-z", page.toString());
            assertQuiet(page, "man", "--warnings", "-l", page.toString());
        }
    }

    @Test
    void everyCommandAndOptionIsInSvcmove8() throws IOException {
        Map<String, String> sections = sections(Files.readString(SVCMOVE_8), ".SS ");
        Map<String, Options> commands = new LinkedHashMap<>();
        Svcmove.verbs().forEach(c -> commands.put(c.name(), c.options()));
        commands.put("completion", new CompletionCommand(List.of()).options());
        commands.put("cert", CertCommand.options());
        for (Map.Entry<String, Options> c : commands.entrySet()) {
            String text = sections.entrySet().stream().filter(s -> s.getKey().matches("\"" + c.getKey() + "\\b.*"))
                    .map(Map.Entry::getValue).collect(Collectors.joining("\n"));
            assertTrue(!text.isEmpty(), "svcmove.8 has no section '.SS \"" + c.getKey() + " ...' for the command " + c.getKey());
            for (Option o : c.getValue().getOptions()) {
                if (!o.getLongOpt().equals("help")) {
                    assertTrue(text.contains(roff("--" + o.getLongOpt())), "svcmove.8 does not describe " + c.getKey() + " --" + o.getLongOpt());
                }
            }
        }
        String options = sections(Files.readString(SVCMOVE_8), ".SH ").get("OPTIONS");
        for (Option o : List.of(Cli.CONFIG, Cli.JSON)) {
            assertTrue(options.contains(roff("--" + o.getLongOpt())), "svcmove.8's OPTIONS lacks --" + o.getLongOpt());
        }
    }

    @Test
    void everyExitCodeIsInSvcmove8() throws IOException {
        String exit = sections(Files.readString(SVCMOVE_8), ".SH ").get("\"EXIT STATUS\"");
        List<String> documented = Pattern.compile("^\\.TP\n\\.B (\\d+)$", Pattern.MULTILINE).matcher(exit).results()
                .map(m -> m.group(1)).toList();
        assertEquals(Arrays.stream(Outcome.values()).map(o -> String.valueOf(o.exitCode)).toList(), documented);
    }

    @Test
    void everyKeyOfTheParserIsInAgentToml5AndNoOther() throws IOException {
        Map<String, String> sections = sections(Files.readString(AGENT_TOML_5), ".SH ");
        Map<String, Set<String>> parser = new LinkedHashMap<>();
        for (RecordComponent c : AgentConfig.class.getRecordComponents()) {
            Class<?> type = c.getType() == List.class
                    ? (Class<?>) ((ParameterizedType) c.getGenericType()).getActualTypeArguments()[0] : c.getType();
            if (type.isRecord()) {
                String section = c.getType() == List.class ? "[[" + key(c) + "]]" : "[" + key(c) + "]";
                parser.put("\"" + section + "\"", Arrays.stream(type.getRecordComponents()).map(ManPagesTest::key)
                        .collect(Collectors.toCollection(TreeSet::new)));
            } else {
                parser.computeIfAbsent("\"TOP-LEVEL KEYS\"", k -> new TreeSet<>()).add(key(c));
            }
        }
        assertTrue(parser.get("\"[move]\"").contains("call_timeout_s"), "the parser's keys are read by their TOML names");
        for (Map.Entry<String, Set<String>> s : parser.entrySet()) {
            String text = sections.get(s.getKey());
            assertTrue(text != null, "svcmove-agent.toml.5 has no section .SH " + s.getKey());
            Set<String> documented = KEY.matcher(text).results().map(m -> m.group(1)).collect(Collectors.toCollection(TreeSet::new));
            assertEquals(s.getValue(), documented, "the keys of " + s.getKey() + " in svcmove-agent.toml.5 and in the parser");
        }
    }

    /** Its name in agent.toml: a @JsonProperty's (on the accessor, where Jackson reads it), else its own. */
    private static String key(RecordComponent c) {
        JsonProperty p = c.getAccessor().getAnnotation(JsonProperty.class);
        return p != null ? p.value() : c.getName();
    }

    /** Text in roff, as the pages write options: every '-' escaped. */
    private static String roff(String text) {
        return text.replace("-", "\\-");
    }

    /** The page cut at each line starting with macro: the rest of that line, to the text up to the next. */
    private static Map<String, String> sections(String page, String macro) {
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = Pattern.compile("^" + Pattern.quote(macro) + "(.*)$", Pattern.MULTILINE).matcher(page);
        List<int[]> starts = new ArrayList<>();
        List<String> names = new ArrayList<>();
        while (m.find()) {
            starts.add(new int[] {m.start(), m.end()});
            names.add(m.group(1));
        }
        for (int i = 0; i < starts.size(); i++) {
            int end = i + 1 < starts.size() ? starts.get(i + 1)[0] : page.length();
            out.merge(names.get(i), page.substring(starts.get(i)[1], end), String::concat);
        }
        return out;
    }

    /** Runs a formatter over page: it must succeed and say nothing on stderr. */
    private static void assertQuiet(Path page, String... command) throws Exception {
        Assumptions.assumeTrue(onPath(command[0]), command[0] + " is not installed, so the pages' rendering is not checked:"
                + " install groff-base and man-db (make setup does)");
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("MANWIDTH", "80");
        pb.environment().put("LC_ALL", "C.UTF-8");
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " did not finish");
        assertEquals("", err, String.join(" ", command) + " warns about " + page);
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed on " + page);
    }

    private static boolean onPath(String tool) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }
}
