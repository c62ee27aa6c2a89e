/*
 * node.h - umbrella header for cairn-node's pieces: configuration, data
 * dirs and identity, capacity accounting and the control channel.
 */
#ifndef CAIRN_NODE_H
#define CAIRN_NODE_H

#include "capacity.h"
#include "control.h"
#include "node_config.h"
#include "node_identity.h"

#endif
