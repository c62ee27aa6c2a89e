/*
 * data_io.h - the storage node's own disk I/O threads.
 *
 * Blocking file work (open, write, fsync, rename, read) never runs on the
 * event loop, and not on libuv's shared uv_queue_work pool either (its 4
 * threads also serve every uv_fs_* call, so four slow fsyncs would stall
 * them all). A data_io is a few plain pthreads taking jobs from one FIFO
 * queue; finished jobs go to a completion list that one uv_async_t drains on
 * the loop thread, where each job's done callback runs.
 *
 * Ownership: a job is caller-owned memory (usually embedded in a
 * connection); it must stay valid until its done callback has run. done
 * runs exactly once per submitted job, on the loop thread, never inside
 * data_io_submit.
 */
#ifndef CAIRN_DATA_IO_H
#define CAIRN_DATA_IO_H

#include <uv.h>

#define DATA_IO_THREADS                                                        \
  16 /* small puts wait in a group commit (segment_log.h) */

struct data_io;
struct data_io_job;

struct data_io_job {
  void (*work)(struct data_io_job *job); /* on an I/O thread */
  void (*done)(struct data_io_job *job); /* then on the loop thread */
  struct data_io_job *next;              /* private to data_io */
};

/* Starts `threads` I/O threads (1..64) reporting on loop. 0 or CAIRN_E*. */
int data_io_start(uv_loop_t *loop, unsigned threads, struct data_io **out);
/* Queues a job (never fails: the queue is an intrusive list; callers bound
 * their own jobs, one per connection). Loop thread only. */
void data_io_submit(struct data_io *io, struct data_io_job *job);
/* Any thread: hands a job that was not submitted (its work ran elsewhere,
 * e.g. a segment group commit) to the loop, where its done runs as for a
 * submitted one. Not after data_io_stop. */
void data_io_complete(struct data_io *io, struct data_io_job *job);
/* Loop thread only. Waits for queued and running jobs to finish (disk jobs
 * are short), joins the threads, runs the remaining done callbacks here,
 * then closes the async handle and frees io once it is closed (so the loop
 * must run afterwards). No job may be submitted after this call, not even
 * from those done callbacks. */
void data_io_stop(struct data_io *io);

#endif
