import { Injectable } from '@nestjs/common';
import type { Room } from './room.js';

/**
 * This node's live rooms by id, shared by the rooms layer's providers: RoomManager changes
 * membership, the broadcaster and the gates read it. A Map itself rather than a wrapper around
 * one, so the lookup on every broadcast and cluster frame stays one `get`.
 */
@Injectable()
export class RoomRegistry extends Map<string, Room> {}
