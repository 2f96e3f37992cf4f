package io.svcmove.migrator.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.move.ServiceFiles;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A checkpoint taken by a newer node (a rolling upgrade) still recovers here. */
class RecoveryManifestTest {
    @Test
    void aManifestWithFieldsThisVersionDoesNotKnowIsReadPastThem() throws Exception {
        ServiceFiles files = new ServiceFiles(null, List.of(), List.of(new ServiceFiles.Required("/usr/bin/python3", 6_831_736, "ab12")));
        ObjectNode written = ControlMessage.JSON.valueToTree(files);
        written.put("from_a_newer_node", true);
        ((ObjectNode) written.withArray("required").get(0)).put("inode_generation", 7);
        assertEquals(files, Recovery.fromManifest(written, ServiceFiles.class));
    }
}
