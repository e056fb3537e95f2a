/** FusedStage: batched atomistic dynamics with machine-learned interatomic potentials on DJL. */
package org.fusedstage;
