package io.svcmove.vip;

/**
 * A cell or VIP operation failed. The message is for the operator: it names the cause and,
 * where there is one, the fix. Unchecked so that lifecycle steps can be passed as lambdas.
 */
public class CellException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CellException(String message) {
        super(message);
    }

    public CellException(String message, Throwable cause) {
        super(message, cause);
    }
}
