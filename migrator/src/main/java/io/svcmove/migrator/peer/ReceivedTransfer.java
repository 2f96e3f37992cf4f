package io.svcmove.migrator.peer;

import java.nio.file.Path;
import java.util.List;

/** A transfer that arrived completely, every file with the size the sender announced. */
public record ReceivedTransfer(String fromNode, String transferId, Path directory, List<String> files, long bytes) {}
