// TypeScript declarations for chatd's browser SDK (/sdk/chat.js).
// Names, shapes and constant values follow the TIM Web SDK v2 group API.

export declare const TYPES: {
  readonly MSG_TEXT: "TIMTextElem";
  readonly MSG_CUSTOM: "TIMCustomElem";
  readonly MSG_GRP_TIP: "TIMGroupTipElem";
  readonly MSG_GRP_SYS_NOTICE: "TIMGroupSystemNoticeElem";
  readonly MSG_PRIORITY_HIGH: "High";
  readonly MSG_PRIORITY_NORMAL: "Normal";
  readonly MSG_PRIORITY_LOW: "Low";
  readonly MSG_PRIORITY_LOWEST: "Lowest";
  readonly CONV_C2C: "C2C";
  readonly CONV_GROUP: "GROUP";
  readonly CONV_SYSTEM: "@TIM#SYSTEM";
  readonly GRP_PRIVATE: "Private";
  readonly GRP_WORK: "Private";
  readonly GRP_PUBLIC: "Public";
  readonly GRP_CHATROOM: "ChatRoom";
  readonly GRP_MEETING: "ChatRoom";
  readonly GRP_AVCHATROOM: "AVChatRoom";
  readonly GRP_MBR_ROLE_OWNER: "Owner";
  readonly GRP_MBR_ROLE_ADMIN: "Admin";
  readonly GRP_MBR_ROLE_MEMBER: "Member";
  readonly GRP_TIP_MBR_JOIN: 1;
  readonly GRP_TIP_MBR_QUIT: 2;
  readonly GRP_TIP_MBR_KICKED_OUT: 3;
  readonly GRP_TIP_MBR_SET_ADMIN: 4;
  readonly GRP_TIP_MBR_CANCELED_ADMIN: 5;
  readonly GRP_TIP_GRP_PROFILE_UPDATED: 6;
  readonly GRP_TIP_MBR_PROFILE_UPDATED: 7;
  readonly MSG_REMIND_ACPT_AND_NOTE: "AcceptAndNotify";
  readonly MSG_REMIND_ACPT_NOT_NOTE: "AcceptNotNotify";
  readonly MSG_REMIND_DISCARD: "Discard";
  readonly KICKED_OUT_MULT_ACCOUNT: "multipleAccount";
  readonly KICKED_OUT_MULT_DEVICE: "multipleDevice";
  readonly KICKED_OUT_USERSIG_EXPIRED: "userSigExpired";
  readonly KICKED_OUT_REST_API: "REST_API_Kick";
  readonly JOIN_OPTIONS_FREE_ACCESS: "FreeAccess";
  readonly JOIN_OPTIONS_NEED_PERMISSION: "NeedPermission";
  readonly JOIN_OPTIONS_DISABLE_APPLY: "DisableApply";
  readonly JOIN_STATUS_SUCCESS: "JoinedSuccess";
  readonly JOIN_STATUS_ALREADY_IN_GROUP: "AlreadyInGroup";
  readonly JOIN_STATUS_WAIT_APPROVAL: "WaitAdminApproval";
  readonly GRP_PROFILE_OWNER_ID: "ownerID";
  readonly GRP_PROFILE_CREATE_TIME: "createTime";
  readonly GRP_PROFILE_LAST_INFO_TIME: "lastInfoTime";
  readonly GRP_PROFILE_MEMBER_NUM: "memberNum";
  readonly GRP_PROFILE_MAX_MEMBER_NUM: "maxMemberNum";
  readonly GRP_PROFILE_JOIN_OPTION: "joinOption";
  readonly GRP_PROFILE_INTRODUCTION: "introduction";
  readonly GRP_PROFILE_NOTIFICATION: "notification";
  readonly GRP_PROFILE_MUTE_ALL_MBRS: "muteAllMembers";
  readonly NET_STATE_CONNECTED: "connected";
  readonly NET_STATE_CONNECTING: "connecting";
  readonly NET_STATE_DISCONNECTED: "disconnected";
};

export declare const EVENT: {
  readonly SDK_READY: "sdkStateReady";
  readonly SDK_NOT_READY: "sdkStateNotReady";
  readonly MESSAGE_RECEIVED: "onMessageReceived";
  readonly GROUP_SYSTEM_NOTICE_RECEIVED: "receiveGroupSystemNotice";
  readonly KICKED_OUT: "kickedOut";
  readonly ERROR: "error";
  readonly NET_STATE_CHANGE: "netStateChange";
  /** chatd's own: a recovery after a reconnect or a resync push has finished. */
  readonly SYNC_COMPLETED: "syncCompleted";
  /** chatd's own: messages older than the group's retention were missed. */
  readonly MESSAGE_GAP: "messageGap";
};

export declare const ERROR_CODE: {
  /** Not connected, or the connection closed before the reply. */
  readonly NETWORK: 2800;
  /** No reply within requestTimeout. */
  readonly TIMEOUT: 2801;
  readonly INVALID_PARAMETER: 10004;
};

export type GroupType = "Private" | "Public" | "ChatRoom" | "AVChatRoom";
export type Role = "Owner" | "Admin" | "Member";
export type JoinOption = "FreeAccess" | "NeedPermission" | "DisableApply";
export type JoinStatus = "JoinedSuccess" | "AlreadyInGroup" | "WaitAdminApproval";
export type RemindType = "AcceptAndNotify" | "AcceptNotNotify" | "Discard";
export type Priority = "High" | "Normal" | "Low" | "Lowest";
export type NetState = "connected" | "connecting" | "disconnected";
export type MessageType = "TIMTextElem" | "TIMCustomElem" | "TIMGroupTipElem" | "TIMGroupSystemNoticeElem";

export interface CustomField {
  key: string;
  value: string;
}

export interface SelfInfo {
  role: Role;
  messageRemindType: RemindType;
  joinTime: number;
  nameCard: string;
}

export interface LastMessage {
  lastTime: number;
  lastSequence: number;
  fromAccount: string;
  messageForShow: string;
}

/** Group (SPEC.md §6.3). Fields may be left out where SPEC says so. */
export interface Group {
  groupID: string;
  name: string;
  avatar: string;
  type: GroupType;
  introduction?: string;
  notification?: string;
  ownerID?: string;
  createTime?: number;
  infoSequence?: number;
  lastInfoTime?: number;
  selfInfo?: SelfInfo;
  lastMessage?: LastMessage;
  nextMessageSeq?: number;
  memberNum?: number;
  memberCount?: number;
  maxMemberNum?: number;
  maxMemberCount?: number;
  muteAllMembers?: boolean;
  joinOption?: JoinOption;
  groupCustomField?: CustomField[];
}

export interface GroupMember {
  userID: string;
  nick: string;
  avatar: string;
  role: Role;
  joinTime: number;
  nameCard: string;
  /** Unix seconds; 0 or past = not muted. */
  muteUntil: number;
  memberCustomField: CustomField[];
}

export interface Profile {
  userID: string;
  nick: string;
  avatar: string;
}

export interface TextPayload {
  text: string;
}

export interface CustomPayload {
  data: string;
  description: string;
  extension: string;
}

export interface GroupTipPayload {
  operatorID: string;
  operationType: 1 | 2 | 3 | 4 | 5 | 6 | 7;
  userIDList: string[];
  newGroupProfile?: Record<string, unknown>;
  memberList?: { userID: string; muteTime: number }[];
}

export interface GroupSystemNoticePayload {
  operatorID: string;
  /** 1 join request … 10 admin canceled (SPEC.md §4). */
  operationType: number;
  groupProfile: { groupID: string; name: string; type: GroupType };
  handleMessage: string;
  userDefinedField: string;
}

export interface Message {
  ID: string;
  type: MessageType;
  payload: TextPayload | CustomPayload | GroupTipPayload | GroupSystemNoticePayload;
  conversationID: string;
  conversationType: "GROUP" | "@TIM#SYSTEM";
  to: string;
  from: string;
  flow: "in" | "out";
  time: number;
  sequence: number;
  priority: Priority;
  nick: string;
  nameCard: string;
  cloudCustomData: string;
  /** "unSend" before sendMessage, then "success" or "fail". */
  status: "unSend" | "success" | "fail";
}

/** What every method resolves to. */
export interface Response<T> {
  code: 0;
  data: T;
}

/** What every method rejects with. */
export declare class ChatError extends Error {
  code: number;
  message: string;
  /** sendMessage failures carry the message: {message}. */
  data?: { message?: Message };
}

export interface Event<T> {
  name: string;
  data: T;
}

export interface EventData {
  sdkStateReady: Record<string, never>;
  sdkStateNotReady: { code?: number };
  onMessageReceived: Message[];
  receiveGroupSystemNotice: { type: number; message: Message };
  kickedOut: { type: "multipleAccount" | "multipleDevice" | "userSigExpired" | "REST_API_Kick" };
  error: { code: number; message: string };
  netStateChange: { state: NetState };
  syncCompleted: Record<string, never>;
  messageGap: { groupID: string; conversationID: string; fromSequence: number; toSequence: number };
}

export interface CreateOptions {
  /** ws:// or wss:// URL of chatd's /ws; in a browser it defaults to the page's own /ws
   *  (relative and http(s) URLs are accepted). */
  url?: string;
  /** 0 debug, 1 info (default), 2 warn, 3 error, 4 none. */
  logLevel?: number;
  /** Called for a new token before the current one expires, and after a 4501 close. */
  tokenRefresher?: () => Promise<string | { userSig: string }> | string | { userSig: string };
  /** A WebSocket constructor when globalThis has none (Node: the ws package). */
  WebSocket?: unknown;
  /** Milliseconds before a request rejects with 2801 (default 15000). */
  requestTimeout?: number;
  /** Milliseconds between keep-alive pings (default 25000; 0 = none). */
  heartbeatInterval?: number;
  /** The server's CHAT_MAX_FRAME_BYTES (default 65536): larger requests reject with 10004 unsent. */
  maxFrameBytes?: number;
}

export interface MessageOptions {
  to: string;
  conversationType: "GROUP";
  priority?: Priority;
  cloudCustomData?: string;
}

export interface MemberListEntry {
  userID: string;
  role?: "Admin";
  memberCustomField?: CustomField[];
}

export interface CreateGroupOptions {
  name: string;
  type?: GroupType;
  groupID?: string;
  introduction?: string;
  notification?: string;
  avatar?: string;
  maxMemberNum?: number;
  joinOption?: JoinOption;
  memberList?: MemberListEntry[];
  groupCustomField?: CustomField[];
}

export interface UpdateGroupProfileOptions {
  groupID: string;
  name?: string;
  avatar?: string;
  introduction?: string;
  notification?: string;
  maxMemberNum?: number;
  muteAllMembers?: boolean;
  joinOption?: JoinOption;
  groupCustomField?: CustomField[];
}

export interface Application {
  groupID: string;
  applicant: string;
  applyMessage: string;
  time: number;
}

export interface MessageList {
  messageList: Message[];
  nextReqMessageID: string;
  isCompleted: boolean;
}

export interface SyncResult {
  messageList: Message[];
  isCompleted: boolean;
  oldestSequence: number;
}

export declare class ChatClient {
  constructor(options?: CreateOptions);

  on<K extends keyof EventData>(name: K, fn: (event: Event<EventData[K]>) => void, context?: unknown): void;
  on(name: string, fn: (event: Event<unknown>) => void, context?: unknown): void;
  off(name: string, fn: (event: Event<any>) => void): void;
  setLogLevel(level: number): void;
  getNetState(): NetState;
  isReady(): boolean;
  getLoginUser(): string;
  destroy(): Promise<Response<Record<string, never>>>;

  login(options: { userID: string; userSig: string }): Promise<Response<{ repeatLogin: boolean; userID: string; expireTime?: number }>>;
  logout(): Promise<Response<{ userID?: string }>>;
  refreshToken(options: { userSig: string }): Promise<Response<{ userID: string; expireTime: number }>>;
  ping(): Promise<Response<{ time: number }>>;

  createGroup(options: CreateGroupOptions): Promise<Response<{ group: Group; overLimitUserIDList: string[] }>>;
  getGroupList(options?: { groupProfileFilter?: string[] }): Promise<Response<{ groupList: Group[] }>>;
  getGroupProfile(options: { groupID: string; groupCustomFieldFilter?: string[] }): Promise<Response<{ group: Group }>>;
  searchGroupByID(groupID: string): Promise<Response<{ group: Group }>>;
  updateGroupProfile(options: UpdateGroupProfileOptions): Promise<Response<{ group: Group }>>;
  dismissGroup(groupID: string): Promise<Response<{ groupID: string }>>;
  /** Without a login, only a live room: type "AVChatRoom" joins anonymously. */
  joinGroup(options: { groupID: string; applyMessage?: string; type?: GroupType }): Promise<Response<{ status: JoinStatus; group?: Group }>>;
  quitGroup(groupID: string): Promise<Response<{ groupID: string }>>;
  changeGroupOwner(options: { groupID: string; newOwnerID: string }): Promise<Response<{ group: Group }>>;
  handleGroupApplication(options: { handleAction: "Agree" | "Reject"; handleMessage?: string; message?: Message; groupID?: string; applicant?: string }): Promise<Response<{ group: Group }>>;
  getGroupApplicationList(): Promise<Response<{ applicationList: Application[] }>>;
  setMessageRemindType(options: { groupID: string; messageRemindType: RemindType }): Promise<Response<{ group: Group }>>;
  getGroupOnlineMemberCount(groupID: string): Promise<Response<{ memberCount: number }>>;

  getGroupMemberList(options: { groupID: string; count?: number; offset?: number }): Promise<Response<{ memberList: GroupMember[] }>>;
  getGroupMemberProfile(options: { groupID: string; userIDList: string[]; memberCustomFieldFilter?: string[] }): Promise<Response<{ memberList: GroupMember[] }>>;
  addGroupMember(options: { groupID: string; userIDList: string[] }): Promise<Response<{ successUserIDList: string[]; failureUserIDList: string[]; existedUserIDList: string[]; group: Group }>>;
  deleteGroupMember(options: { groupID: string; userIDList: string[]; reason?: string }): Promise<Response<{ group: Group; userIDList: string[] }>>;
  setGroupMemberMuteTime(options: { groupID: string; userID: string; muteTime: number }): Promise<Response<{ group: Group; member: GroupMember }>>;
  setGroupMemberRole(options: { groupID: string; userID: string; role: "Admin" | "Member" }): Promise<Response<{ group: Group; member: GroupMember }>>;
  setGroupMemberNameCard(options: { groupID: string; userID?: string; nameCard: string }): Promise<Response<{ group: Group; member: GroupMember }>>;
  setGroupMemberCustomField(options: { groupID: string; userID?: string; memberCustomField: CustomField[] }): Promise<Response<{ group: Group; member: GroupMember }>>;

  updateMyProfile(options: { nick?: string; avatar?: string }): Promise<Response<{ profile: Profile }>>;
  getMyProfile(): Promise<Response<{ profile: Profile }>>;

  /** Returns an unsent message with a client-made ID; throws ChatError for a bad argument. */
  createTextMessage(options: MessageOptions & { payload: TextPayload }): Message;
  createCustomMessage(options: MessageOptions & { payload: Partial<CustomPayload> }): Message;
  /** Sending the same message object again is idempotent (same ID). */
  sendMessage(message: Message): Promise<Response<{ message: Message }>>;
  resendMessage(message: Message): Promise<Response<{ message: Message }>>;
  getMessageList(options: { conversationID: string; nextReqMessageID?: string; count?: number }): Promise<Response<MessageList>>;
  syncMessages(options: { groupID: string; afterSequence: number; count?: number }): Promise<Response<SyncResult>>;
}

export declare function create(options?: CreateOptions): ChatClient;

/** Whether a close code forbids reconnecting without a change (4500-4999, 1009). */
export declare function isTerminalClose(code: number): boolean;

/** The wait before reconnect attempt n: full jitter over min(20 s, 0.5 s × 2^n). */
export declare function backoffDelay(n: number, random?: () => number): number;

declare const _default: {
  create: typeof create;
  TYPES: typeof TYPES;
  EVENT: typeof EVENT;
  ERROR_CODE: typeof ERROR_CODE;
  ChatError: typeof ChatError;
};
export default _default;
