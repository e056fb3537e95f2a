package org.fusedstage.data;

/**
 * Every reserved status code, in one place. Stage codes are 0, 1, 2, ...; a chain's exit status is
 * one past its last stage; the codes below are negative and never name a stage.
 */
public final class Status {

    /** An empty slot of a batch's pool: no sample, no physics. */
    public static final int VACANT = -2;

    /** A sample taken out of the dynamics because its energy or forces became non-finite. */
    public static final int QUARANTINED = -1;

    /**
     * A sample put into a slot by a refill, waiting for the batch step whose forward pass gives it
     * forces; no stage updates it in that step. After it the sample enters the first stage.
     */
    public static final int ADMITTING = -3;

    /**
     * A sample that ran out of its step budget in a stage before that stage's criteria held, under
     * {@code OnUnconverged.REJECT}: it leaves the chain and goes to the fused stage's reject sinks.
     */
    public static final int REJECTED = -4;

    /** Whether {@code status} is one of the reserved codes above or an empty slot. */
    public static boolean isReserved(long status) {
        return status == QUARANTINED || status == ADMITTING || status == REJECTED || status == VACANT;
    }

    private Status() {}
}
