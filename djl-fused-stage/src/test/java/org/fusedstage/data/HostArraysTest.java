package org.fusedstage.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** Arrays made through the reused staging buffer own their memory and keep their values. */
class HostArraysTest {

    @Test
    void arraysDoNotShareTheStagingBuffer() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray first = HostArrays.create(manager, new double[] {1, 2, 3, 4, 5, 6}, new Shape(2, 3), DataType.FLOAT64);
            NDArray second = HostArrays.create(manager, new double[] {7, 8, 9, 10, 11, 12}, new Shape(2, 3), DataType.FLOAT64);
            NDArray bigger = HostArrays.create(manager, new double[1000], DataType.FLOAT64); // grows the buffer
            assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, first.toDoubleArray());
            assertArrayEquals(new double[] {7, 8, 9, 10, 11, 12}, second.toDoubleArray());
            assertEquals(new Shape(2, 3), first.getShape());
            assertEquals(1000, bigger.size());
        }
    }

    @Test
    void float32ArraysAreConvertedOnTheHost() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray a = HostArrays.create(manager, new double[] {0.1, -2.5, 1e30}, DataType.FLOAT32);
            assertEquals(DataType.FLOAT32, a.getDataType());
            assertArrayEquals(new float[] {0.1f, -2.5f, 1e30f}, a.toFloatArray());
            assertArrayEquals(new double[] {0.1f, -2.5f, 1e30f}, HostArrays.doubles(a));
        }
    }

    @Test
    void badInputIsRefusedWithItsReason() {
        try (NDManager manager = NDManager.newBaseManager()) {
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> HostArrays.create(manager, new double[5], new Shape(2, 3), DataType.FLOAT64));
            assertEquals("5 values do not fill shape (2, 3)", shape.getMessage());
            IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
                    () -> HostArrays.create(manager, new double[2], DataType.INT64));
            assertEquals("host arrays are float64 or float32, not int64", type.getMessage());
        }
    }
}
