package io.svcmove.migrator.criu;

/**
 * How CRIU keeps packets away from the tree's TCP sockets while it works on them. svcmove
 * holds traffic itself (an nftables drop rule and its packet buffer), so it passes {@link #SKIP};
 * CRIU's own iptables lock leaves rules behind on the source and errors on the destination.
 */
public enum NetworkLock {
    IPTABLES(CriuRpc.NetworkLockMethod.IPTABLES),
    NFTABLES(CriuRpc.NetworkLockMethod.NFTABLES),
    SKIP(CriuRpc.NetworkLockMethod.SKIP);

    final CriuRpc.NetworkLockMethod rpc;

    NetworkLock(CriuRpc.NetworkLockMethod rpc) {
        this.rpc = rpc;
    }
}
