package io.svcmove.migrator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import org.junit.jupiter.api.Test;

class LogConfiguratorTest {
    @Test
    void warningsToStandardErrorUnlessTheOperatorNamesAFile() {
        LoggerContext context = new LoggerContext();
        LogConfigurator c = new LogConfigurator();
        c.setContext(context);
        assertEquals(Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY, c.configure(context));
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        assertEquals(Level.WARN, root.getLevel());
        assertTrue(root.getAppender("stderr") != null, "the stderr appender");

        System.setProperty(LogConfigurator.OPERATORS_FILE, "/etc/svcmove/logback.xml");
        try {
            LoggerContext theirs = new LoggerContext();
            assertEquals(Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY, c.configure(theirs), "logback reads the operator's file");
            assertTrue(theirs.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("stderr") == null, "nothing of ours added");
        } finally {
            System.clearProperty(LogConfigurator.OPERATORS_FILE);
        }
    }
}
